#Requires -Modules @{ ModuleName = 'Pester'; ModuleVersion = '5.5.0' }

BeforeDiscovery { . $PSScriptRoot/discovery.ps1 }

BeforeAll {
    . $PSScriptRoot/common.ps1
    $fqidGet = 'IntegrityVolume.Commands.GetIntegrityArrayCommand'
}

Describe 'Get-IntegrityArray' -Tag 'Unit' {
    It 'take the array at position 0 and by property name Path' {
        foreach ($name in 'Get-IntegrityArray', 'Start-IntegrityArrayScrub') {
            $cmd = Get-Command $name
            $p = $cmd.Parameters['Array'].Attributes | Where-Object { $_ -is [System.Management.Automation.ParameterAttribute] }
            $p.Position | Should -Be 0
            $p.ValueFromPipelineByPropertyName | Should -BeTrue
            $cmd.Parameters['Array'].Aliases | Should -Contain 'Path'
        }
        (Get-Command Get-IntegrityArray).OutputType.Name | Should -Be 'IntegrityVolume.Core.Arrays.MdArrayInfo'
    }

    It 'writes ArrayNotFound and NotAnMdArray per name and continues' {
        $err = $null
        Get-IntegrityArray md999, /dev/null -ErrorVariable err -ErrorAction SilentlyContinue
        $err.FullyQualifiedErrorId | Should -Be @("ArrayNotFound,$fqidGet", "NotAnMdArray,$fqidGet")
        $err[0].TargetObject | Should -Be 'md999'
    }
}

Describe 'md RAID1 over two integrity volumes' -Tag 'Acceptance', 'RequireRoot' -Skip:(-not $canRunAcceptance) {
    BeforeAll {
        $testArray = New-IvolTestArray
        $id, $names, $images, $md = $testArray.Id, $testArray.Names, $testArray.Images, $testArray.Md
    }

    AfterAll { Remove-IvolTestArray $testArray }

    It 'shows the array and its legs with their integrity mappings' {
        $a = Get-IntegrityArray $md
        $a | Should -BeOfType IntegrityVolume.Core.Arrays.MdArrayInfo
        $a.Level | Should -Be 'raid1'
        $a.Name | Should -Be "ivarr$id"
        $a.Path | Should -Be "/dev/$((Get-Item $md).ResolveLinkTarget($true).Name)"
        $a.RaidDisks | Should -Be 2
        ($a.Legs.MapperName | Sort-Object) | Should -Be ($names | Sort-Object)
        ($a.Legs.Integrity.Name | Sort-Object) | Should -Be ($names | Sort-Object)
        $a.Legs.IntegrityMismatches | Should -Be @(0, 0)
        # The same array by /dev/mdN, from the list of arrays with integrity legs, and through the pipeline.
        (Get-IntegrityArray $a.Path).Device | Should -Be $a.Device
        (Get-IntegrityArray | Where-Object Device -eq $a.Device).Count | Should -Be 1
        ($a | Get-IntegrityArray).Device | Should -Be $a.Device
        ($a | Format-Table | Out-String -Width 300) | Should -Match ([regex]::Escape($names[0]))
    }
}
