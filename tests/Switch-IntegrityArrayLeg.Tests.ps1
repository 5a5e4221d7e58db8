#Requires -Modules @{ ModuleName = 'Pester'; ModuleVersion = '5.5.0' }

BeforeDiscovery { . $PSScriptRoot/discovery.ps1 }

BeforeAll {
    . $PSScriptRoot/common.ps1
    $fqidSwitch = 'IntegrityVolume.Commands.SwitchIntegrityArrayLegCommand'
}

Describe 'Switch-IntegrityArrayLeg' -Tag 'Unit' {
    It 'supports ShouldProcess with high impact and returns ArrayLegReplaceResult' {
        $c = Get-Command Switch-IntegrityArrayLeg
        $c.Parameters.Keys | Should -Contain 'WhatIf'
        $c.Parameters.Keys | Should -Contain 'Force'
        $c.OutputType.Name | Should -Be 'IntegrityVolume.Core.Arrays.ArrayLegReplaceResult'
        $c.ImplementingType.GetCustomAttributes([System.Management.Automation.CmdletAttribute], $false).ConfirmImpact | Should -Be 'High'
    }

    It 'refuses an array that does not exist (ArrayNotFound) and creates nothing' {
        $new = Join-Path $TestDrive 'new-leg.img'
        { Switch-IntegrityArrayLeg md999 -Leg ivnoleg -NewDevice $new -NewName ivnonew -Confirm:$false -ErrorAction Stop } |
            Should -Throw -ErrorId "ArrayNotFound,$fqidSwitch"
        Test-Path -LiteralPath $new | Should -BeFalse
    }

    It '-WhatIf formats, opens and adds nothing' {
        $new = Join-Path $TestDrive 'whatif-leg.img'
        [IO.File]::WriteAllBytes($new, [byte[]]::new(1MB))
        { Switch-IntegrityArrayLeg md999 -Leg ivnoleg -NewDevice $new -NewName ivnonew -WhatIf -ErrorAction Stop } | Should -Not -Throw
        (Get-FileHash -LiteralPath $new).Hash | Should -Be (Get-FileHash -InputStream ([IO.MemoryStream]::new([byte[]]::new(1MB)))).Hash
    }
}

Describe 'Switch-IntegrityArrayLeg on md RAID1 over two integrity volumes' -Tag 'Acceptance', 'RequireRoot' -Skip:(-not $canRunAcceptance) {
    BeforeAll {
        $testArray = New-IvolTestArray -Prefix 'ivrep'
        $newName = "ivrepn$($testArray.Id)"
        $newImage = Join-Path $TestDrive "$newName.img"
        [IO.File]::WriteAllBytes($newImage, [byte[]]::new(16MB))
    }

    AfterAll { Remove-IvolTestArray $testArray -ExtraNames $newName -ExtraImages $newImage }

    It 'refuses a leg that is not a member (LegNotInArray) and leaves the new device alone' {
        { Switch-IntegrityArrayLeg $testArray.Md -Leg ivnoleg -NewDevice $newImage -NewName $newName -Confirm:$false -ErrorAction Stop } |
            Should -Throw -ErrorId "LegNotInArray,$fqidSwitch"
        Test-IvolMapping $newName | Should -BeFalse
    }

    It 'replaces an active leg (mdadm --replace): the new leg in_sync in its slot, the old mapping closed' {
        $old = $testArray.Names[1]
        $slot = (Get-IntegrityArray $testArray.Md).Legs | Where-Object MapperName -eq $old | ForEach-Object Slot
        $r = Switch-IntegrityArrayLeg $testArray.Md -Leg $old -NewDevice $newImage -NewName $newName -Confirm:$false
        $r | Should -BeOfType IntegrityVolume.Core.Arrays.ArrayLegReplaceResult
        $r.Mode | Should -Be 'Replace'
        $r.RecoveryCompleted | Should -BeTrue
        $r.OldLegRemoved | Should -BeTrue
        $r.OldLegClosed | Should -BeTrue
        $r.DegradedAfter | Should -Be 0
        # sysfs and dmsetup as the witnesses
        $md = $r.Device
        (Get-Content "/sys/block/$md/md/sync_action") | Should -Be 'idle'
        (Get-Content "/sys/block/$md/md/degraded") | Should -Be '0'
        (Get-Content "/sys/block/$md/md/dev-$($r.NewLegDevice)/state") | Should -Be 'in_sync'
        (Get-Content "/sys/block/$md/md/dev-$($r.NewLegDevice)/slot") | Should -Be "$slot"
        Test-IvolMapping $old | Should -BeFalse
        # md's own check finds the legs equal
        $s = Start-IntegrityArrayScrub $testArray.Md -Confirm:$false
        $s.MismatchCount | Should -Be 0
    }
}

Describe 'Switch-IntegrityArrayLeg on md RAID1 over keyed (hmac-sha256) integrity volumes' -Tag 'Acceptance', 'RequireRoot' -Skip:(-not $canRunAcceptance) {
    BeforeAll {
        $key = Join-Path $TestDrive 'legs.key'
        [IO.File]::WriteAllBytes($key, [byte[]](1..32))
        $wrongKey = Join-Path $TestDrive 'wrong.key'
        [IO.File]::WriteAllBytes($wrongKey, [byte[]](2..33))
        $keyed = @{ Algorithm = 'hmac-sha256'; KeyFile = $key }
        $testArray = New-IvolTestArray -Prefix 'ivrepk' -Options $keyed
        $payload = New-IvolRandomFile -Name 'keyed-array.bin' -Length 1MB -Seed 16
        dd if=$payload of=$($testArray.Md) bs=1M oflag=direct conv=fsync status=none
        $newName = "ivrepkn$($testArray.Id)"
        $newImage = Join-Path $TestDrive "$newName.img"
        [IO.File]::WriteAllBytes($newImage, [byte[]]::new(16MB))
    }

    AfterAll { Remove-IvolTestArray $testArray -ExtraNames $newName -ExtraImages $newImage }

    It 'needs the key (KeyRequired), proves it on a leg''s tags (KeyMismatch), and leaves the new device alone' {
        $before = Get-IvolHash $newImage
        { Switch-IntegrityArrayLeg $testArray.Md -Leg $testArray.Names[1] -NewDevice $newImage -NewName $newName -Confirm:$false -ErrorAction Stop } |
            Should -Throw -ErrorId "KeyRequired,$fqidSwitch"
        { Switch-IntegrityArrayLeg $testArray.Md -Leg $testArray.Names[1] -NewDevice $newImage -NewName $newName -IntegrityKeyFile $wrongKey -Confirm:$false -ErrorAction Stop } |
            Should -Throw -ErrorId "KeyMismatch,$fqidSwitch"
        Test-IvolMapping $newName | Should -BeFalse
        Get-IvolHash $newImage | Should -Be $before
    }

    It 'replaces a leg with the key: in_sync, and the new leg holds the data under tags of that key' {
        $r = Switch-IntegrityArrayLeg $testArray.Md -Leg $testArray.Names[1] -NewDevice $newImage -NewName $newName -KeyFile $key -Confirm:$false
        $r.RecoveryCompleted | Should -BeTrue
        (Get-Content "/sys/block/$($r.Device)/md/dev-$($r.NewLegDevice)/state") | Should -Be 'in_sync'
        (Get-IntegrityVolume -Name $newName).Keyed | Should -BeTrue
        # Closed, the new leg verifies offline with the legs' key (its tags were computed by the kernel with it).
        mdadm --stop $testArray.Md *> $null
        Close-IntegrityVolume -Name $newName -Confirm:$false
        $t = Test-IntegrityVolume -Path $newImage -Algorithm hmac-sha256 -KeyFile $key
        $t.Healthy | Should -BeTrue
    }
}

