#Requires -Modules @{ ModuleName = 'Pester'; ModuleVersion = '5.5.0' }

BeforeDiscovery { . $PSScriptRoot/discovery.ps1 }

BeforeAll {
    . $PSScriptRoot/common.ps1
    $fqidNew = 'IntegrityVolume.Commands.NewIntegrityArrayCommand'
    function New-IvolZeroFile([string] $Name, [long] $Size = 8MB) {
        $path = Join-Path $TestDrive $Name
        $fs = [IO.File]::Create($path); $fs.SetLength($Size); $fs.Dispose()
        $path
    }
}

Describe 'New-IntegrityArray' -Tag 'Unit' {
    It 'supports ShouldProcess with high impact, takes -Force, returns MdArrayInfo' {
        $cmd = Get-Command New-IntegrityArray
        $cmd.Parameters.Keys | Should -Contain 'WhatIf'
        $cmd.Parameters.Keys | Should -Contain 'Force'
        $cmd.ImplementingType.GetCustomAttributes([System.Management.Automation.CmdletAttribute], $false)[0].ConfirmImpact | Should -Be 'High'
        $cmd.OutputType.Name | Should -Be 'IntegrityVolume.Core.Arrays.MdArrayInfo'
    }

    It '-WhatIf writes nothing: both devices stay byte-identical' {
        $a = New-IvolZeroFile 'wa.img'
        $b = New-IvolTestImage -Name 'wb.img'
        $before = (Get-IvolHash $a), (Get-IvolHash $b)
        # -Force: the formatted image would be overwritten; -WhatIf must still leave it alone.
        New-IntegrityArray wi $a, $b -Level 1 -Force -WhatIf -ErrorAction SilentlyContinue
        (Get-IvolHash $a), (Get-IvolHash $b) | Should -Be $before
        Test-Path /dev/md/wi | Should -BeFalse
    }

    It 'refuses a set with a device that holds an integrity superblock (ExistingSignature) and formats none of them' {
        $zero = New-IvolZeroFile 'z.img'
        $data = New-IvolTestImage -Name 'd.img'
        $before = (Get-IvolHash $zero), (Get-IvolHash $data)
        # The zero file comes first: a per-device check would have formatted it before meeting the second.
        { New-IntegrityArray refused $zero, $data -Level 1 -Confirm:$false -ErrorAction Stop } |
            Should -Throw -ErrorId "ExistingSignature,$fqidNew"
        (Get-IvolHash $zero), (Get-IvolHash $data) | Should -Be $before
    }

    It 'refuses too few devices for the level (ArrayCreateRefused) before touching any' {
        $a = New-IvolZeroFile 'r6a.img'; $b = New-IvolZeroFile 'r6b.img'
        { New-IntegrityArray r6 $a, $b -Level 6 -Confirm:$false -ErrorAction Stop } | Should -Throw -ErrorId "ArrayCreateRefused,$fqidNew"
        (Get-IvolHash $a) | Should -Be (Get-IvolHash $b)
    }
}
