#Requires -Modules @{ ModuleName = 'Pester'; ModuleVersion = '5.5.0' }

BeforeDiscovery { . $PSScriptRoot/discovery.ps1 }

BeforeAll {
    . $PSScriptRoot/common.ps1
    $fqidClose = 'IntegrityVolume.Commands.CloseIntegrityArrayCommand'
}

Describe 'Close-IntegrityArray' -Tag 'Unit' {
    It 'supports ShouldProcess and returns ArrayCloseResult' {
        (Get-Command Close-IntegrityArray).Parameters.Keys | Should -Contain 'WhatIf'
        (Get-Command Close-IntegrityArray).OutputType.Name | Should -Be 'IntegrityVolume.Core.Arrays.ArrayCloseResult'
    }

    It 'refuses an array that does not exist (ArrayNotFound)' {
        { Close-IntegrityArray md999 -Confirm:$false -ErrorAction Stop } | Should -Throw -ErrorId "ArrayNotFound,$fqidClose"
    }

    It '-WhatIf stops nothing' {
        { Close-IntegrityArray md999 -WhatIf -ErrorAction Stop } | Should -Not -Throw
    }
}
