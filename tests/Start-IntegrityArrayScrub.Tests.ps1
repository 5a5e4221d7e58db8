#Requires -Modules @{ ModuleName = 'Pester'; ModuleVersion = '5.5.0' }

BeforeDiscovery { . $PSScriptRoot/discovery.ps1 }

BeforeAll {
    . $PSScriptRoot/common.ps1
    $fqidScrub = 'IntegrityVolume.Commands.StartIntegrityArrayScrubCommand'
}

Describe 'Start-IntegrityArrayScrub' -Tag 'Unit' {
    It 'supports ShouldProcess and returns ArrayScrubResult' {
        (Get-Command Start-IntegrityArrayScrub).Parameters.Keys | Should -Contain 'WhatIf'
        (Get-Command Start-IntegrityArrayScrub).OutputType.Name | Should -Be 'IntegrityVolume.Core.Arrays.ArrayScrubResult'
    }

    It 'refuses an array that does not exist (ArrayNotFound)' {
        { Start-IntegrityArrayScrub md999 -Confirm:$false -ErrorAction Stop } | Should -Throw -ErrorId "ArrayNotFound,$fqidScrub"
    }

    It '-WhatIf starts nothing' {
        { Start-IntegrityArrayScrub md999 -WhatIf -ErrorAction Stop } | Should -Not -Throw
    }
}

Describe 'Start-IntegrityArrayScrub on md RAID1 over two integrity volumes' -Tag 'Acceptance', 'RequireRoot' -Skip:(-not $canRunAcceptance) {
    BeforeAll {
        $testArray = New-IvolTestArray
        $id, $names, $images, $md = $testArray.Id, $testArray.Names, $testArray.Images, $testArray.Md
    }

    AfterAll { Remove-IvolTestArray $testArray }

    It 'scrubs a clean array: completed, nothing found, no leg failed' {
        $r = Get-IntegrityArray $md | Start-IntegrityArrayScrub -Confirm:$false
        $r | Should -BeOfType IntegrityVolume.Core.Arrays.ArrayScrubResult
        $r.Completed | Should -BeTrue
        $r.Action | Should -Be 'check'
        $r.MismatchCount | Should -Be 0
        $r.AnyLegFailed | Should -BeFalse
        $r.Legs.IntegrityMismatchesAdded | Should -Be @(0, 0)
        (Get-Content "/sys/block/$($r.Device)/md/sync_action") | Should -Be 'idle'
    }
}
