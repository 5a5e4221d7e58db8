#Requires -Modules @{ ModuleName = 'Pester'; ModuleVersion = '5.5.0' }

BeforeDiscovery { . $PSScriptRoot/discovery.ps1 }

BeforeAll {
    . $PSScriptRoot/common.ps1
    $fqidOpen = 'IntegrityVolume.Commands.OpenIntegrityArrayCommand'
    $fqidNew = 'IntegrityVolume.Commands.NewIntegrityArrayCommand'
    $fqidClose = 'IntegrityVolume.Commands.CloseIntegrityArrayCommand'
    function New-IvolLuksKey([string] $Name) {
        $key = New-IvolRandomFile $Name 64 7
        [IO.File]::SetUnixFileMode($key, [IO.UnixFileMode]'UserRead, UserWrite')
        $key
    }
}

Describe 'Open-IntegrityArray' -Tag 'Unit' {
    It 'supports ShouldProcess with medium impact and returns MdArrayInfo like New-IntegrityArray' {
        $cmd = Get-Command Open-IntegrityArray
        $cmd.Parameters.Keys | Should -Contain 'WhatIf'
        $cmd.ImplementingType.GetCustomAttributes([System.Management.Automation.CmdletAttribute], $false)[0].ConfirmImpact | Should -Be 'Medium'
        $cmd.OutputType.Name | Should -Be (Get-Command New-IntegrityArray).OutputType.Name
        $cmd.Parameters['IntegrityKeyFile'].Aliases | Should -Contain 'KeyFile'
        $cmd.Parameters['Device'].Aliases | Should -Contain 'Path'
        $cmd.Parameters['Mode'].Attributes.ValidValues | Should -Be @('Journal', 'Bitmap', 'Direct')
    }

    It '-LuksName without -LuksKeyFile is InvalidParameter' {
        $a = New-IvolTestImage -Name 'oa.img'
        { Open-IntegrityArray o $a -LuksName c -Confirm:$false -ErrorAction Stop } | Should -Throw -ErrorId "InvalidParameter,$fqidOpen"
    }

    It 'a missing LUKS key file is KeyFileInvalid before any leg is opened' {
        $a = New-IvolTestImage -Name 'ob.img'
        $before = Get-IvolHash $a
        { Open-IntegrityArray o $a -LuksKeyFile (Join-Path $TestDrive 'none.key') -Confirm:$false -ErrorAction Stop } |
            Should -Throw -ErrorId "KeyFileInvalid,$fqidOpen"
        Get-IvolHash $a | Should -Be $before
    }

    It '-WhatIf opens nothing' {
        $a = New-IvolTestImage -Name 'oc.img'
        { Open-IntegrityArray owi $a -WhatIf -ErrorAction Stop } | Should -Not -Throw
        Test-Path /dev/md/owi | Should -BeFalse
        Test-Path /dev/mapper/owi-leg0 | Should -BeFalse
    }
}

Describe 'New-IntegrityArray LUKS parameters' -Tag 'Unit' {
    It '-LuksName, -CrypttabPath and -LuksIterTime need -LuksKeyFile (InvalidParameter)' {
        $a = Join-Path $TestDrive 'na.img'; $b = Join-Path $TestDrive 'nb.img'
        foreach ($extra in @{ LuksName = 'c' }, @{ CrypttabPath = (Join-Path $TestDrive 'ct') }, @{ LuksIterTime = 5 }) {
            { New-IntegrityArray n $a, $b -Level 1 -Size 8MB -Confirm:$false -ErrorAction Stop @extra } | Should -Throw -ErrorId "InvalidParameter,$fqidNew"
        }
        Test-Path $a | Should -BeFalse
    }

    It 'a missing or empty LUKS key file refuses the set under -WhatIf too, writing nothing' {
        $a = Join-Path $TestDrive 'nc.img'; $b = Join-Path $TestDrive 'nd.img'
        $empty = Join-Path $TestDrive 'empty.key'; $null = New-Item -ItemType File $empty
        foreach ($key in (Join-Path $TestDrive 'none.key'), $empty) {
            { New-IntegrityArray n $a, $b -Level 1 -Size 8MB -LuksKeyFile $key -WhatIf -ErrorAction Stop } | Should -Throw -ErrorId "KeyFileInvalid,$fqidNew"
        }
        Test-Path $a | Should -BeFalse
        Test-Path $b | Should -BeFalse
    }

    It '-LuksPbkdf takes only what cryptsetup takes' {
        (Get-Command New-IntegrityArray).Parameters['LuksPbkdf'].Attributes.ValidValues | Should -Be @('argon2id', 'argon2i', 'pbkdf2')
    }

    It '-LuksPerLeg needs -LuksKeyFile and refuses -LuksName (each leg''s crypt mapping is LEGNAME-crypt), before any device' {
        $a = Join-Path $TestDrive 'pla.img'; $b = Join-Path $TestDrive 'plb.img'
        { New-IntegrityArray pl $a, $b -Level 1 -Size 48MB -LuksPerLeg -WhatIf -ErrorAction Stop } | Should -Throw -ErrorId "InvalidParameter,$fqidNew"
        $key = New-IvolLuksKey 'pl.key'
        { New-IntegrityArray pl $a, $b -Level 1 -Size 48MB -LuksKeyFile $key -LuksPerLeg -LuksName top -WhatIf -ErrorAction Stop } |
            Should -Throw -ErrorId "InvalidParameter,$fqidNew"
        # Each leg carries its own 16 MiB LUKS2 header: a 16 MiB leg has no room for data.
        { New-IntegrityArray pl $a, $b -Level 1 -Size 16MB -LuksKeyFile $key -LuksPerLeg -WhatIf -ErrorAction Stop } |
            Should -Throw -ErrorId "ArrayCreateRefused,$fqidNew"
        Test-Path $a | Should -BeFalse
        Test-Path $b | Should -BeFalse
    }
}

Describe 'Open-IntegrityArray reassembles an array' -Tag 'Acceptance', 'RequireRoot' -Skip:(-not $canRunAcceptance) {
    BeforeAll {
        $testArray = New-IvolTestArray -Prefix 'ivop'
        $name = "ivop$($testArray.Id)"
        $data = New-IvolRandomFile 'data.bin' 65536 3
        dd if=$data of=$($testArray.Md) bs=64k oflag=direct conv=fsync status=none
        $null = Close-IntegrityArray $testArray.Md -Confirm:$false
    }

    AfterAll { Remove-IvolTestArray $testArray }

    It '-WhatIf opens nothing' {
        Open-IntegrityArray $name $testArray.Images -LegName $testArray.Names -WhatIf
        # Not Test-Path /dev/md/NAME: without udev, mdadm --stop leaves that link dangling.
        Get-IntegrityArray | Where-Object Name -eq $name | Should -BeNullOrEmpty
        Test-IvolMapping $testArray.Names[0] | Should -BeFalse
        Test-IvolMapping $testArray.Names[1] | Should -BeFalse
    }

    It 'opens the legs (in any order), assembles the array and returns it; the data reads back' {
        $a = Open-IntegrityArray $name $testArray.Images[1], $testArray.Images[0] -LegName $testArray.Names[1], $testArray.Names[0] -Confirm:$false
        $a | Should -BeOfType IntegrityVolume.Core.Arrays.MdArrayInfo
        $a.Name | Should -Be $name
        $a.Level | Should -Be 'raid1'
        ($a.Legs.MapperName | Sort-Object) | Should -Be ($testArray.Names | Sort-Object)
        $a.CryptName | Should -BeNullOrEmpty
        $back = Join-Path $TestDrive 'back.bin'
        dd if=$($testArray.Md) of=$back bs=64k count=1 iflag=direct status=none
        Get-IvolHash $back | Should -Be (Get-IvolHash $data)
    }

    It 'refuses an array that is open already (ArrayCreateRefused)' {
        { Open-IntegrityArray $name $testArray.Images -Confirm:$false -ErrorAction Stop } | Should -Throw -ErrorId "ArrayCreateRefused,$fqidOpen"
    }
}

Describe 'LUKS2 on top of an array' -Tag 'Acceptance', 'RequireRoot' -Skip:(-not $canRunAcceptance) {
    BeforeAll {
        modprobe raid1 2>$null; modprobe dm-crypt 2>$null
        $id = [guid]::NewGuid().ToString('n').Substring(0, 6)
        $name = "ivlk$id"; $crypt = "$name-crypt"; $md = "/dev/md/$name"
        $images = (Join-Path $TestDrive "${name}0.img"), (Join-Path $TestDrive "${name}1.img")
        $key = New-IvolLuksKey 'luks.key'
        $tab = Join-Path $TestDrive 'crypttab'
        Set-Content -LiteralPath $tab -Value '# crypttab', "$crypt UUID=stale /old.key luks"
        # The LUKS2 header takes 16 MiB; pbkdf2 with 1 ms keeps the guest fast.
        $created = New-IntegrityArray $name $images -Level 1 -Size 40MB -LuksKeyFile $key -LuksPbkdf pbkdf2 -LuksIterTime 1 -CrypttabPath $tab -Confirm:$false
        $data = New-IvolRandomFile 'luks-data.bin' 65536 5
    }

    AfterAll {
        dmsetup remove "$name-hold" *> $null
        cryptsetup close $crypt *> $null
        Remove-IvolTestArray ([pscustomobject]@{ Md = $md; Names = "$name-leg0", "$name-leg1"; Images = $images })
    }

    It 'formats LUKS2 on the array, opens it and replaces the crypttab line of that name' {
        $created.CryptName | Should -Be $crypt
        $created.CryptPath | Should -Be "/dev/mapper/$crypt"
        Test-Path "/dev/mapper/$crypt" | Should -BeTrue
        (dmsetup table $crypt) | Should -Match ' crypt '
        $uuid = cryptsetup luksUUID $md
        $created.LuksUuid | Should -Be $uuid
        Get-Content -LiteralPath $tab | Should -Be @('# crypttab', "$crypt UUID=$uuid $key luks")
        $created.CrypttabLine | Should -Be "$crypt UUID=$uuid $key luks"
        (Get-IntegrityArray $md).CryptName | Should -Be $crypt
        dd if=$data of=/dev/mapper/$crypt bs=64k oflag=direct conv=fsync status=none
    }

    It 'refuses to close while the crypt layer is held, and closes nothing' {
        dmsetup create "$name-hold" --table "0 8 linear /dev/mapper/$crypt 0"
        try {
            $err = $null
            Close-IntegrityArray $name -Confirm:$false -ErrorVariable err -ErrorAction SilentlyContinue
            $err.FullyQualifiedErrorId | Should -Be "ArrayInUse,$fqidClose"
            "$err" | Should -Match ([regex]::Escape($crypt))
            Test-Path "/dev/mapper/$crypt" | Should -BeTrue
            Test-Path $md | Should -BeTrue
        }
        finally { dmsetup remove "$name-hold" }
    }

    It 'closes crypt, md and legs in order; Open-IntegrityArray -LuksKeyFile opens the whole stack again' {
        $closed = Close-IntegrityArray $name -PassThru -Confirm:$false
        $closed.ClosedCrypt | Should -Be $crypt
        $closed.ClosedLegs | Should -Be @("$name-leg0", "$name-leg1")
        Test-Path "/dev/mapper/$crypt" | Should -BeFalse
        Test-IvolMapping "$name-leg0" | Should -BeFalse

        $opened = Open-IntegrityArray $name $images -LuksKeyFile $key -Confirm:$false
        $opened.CryptName | Should -Be $crypt
        $opened.LuksUuid | Should -Be $created.LuksUuid
        $back = Join-Path $TestDrive 'luks-back.bin'
        dd if=/dev/mapper/$crypt of=$back bs=64k count=1 iflag=direct status=none
        Get-IvolHash $back | Should -Be (Get-IvolHash $data)
        (Close-IntegrityArray $name -PassThru -Confirm:$false).ClosedCrypt | Should -Be $crypt
    }
}

Describe 'LUKS2 on every leg (RAID over per-leg LUKS)' -Tag 'Acceptance', 'RequireRoot' -Skip:(-not $canRunAcceptance) {
    BeforeAll {
        modprobe raid1 2>$null; modprobe dm-crypt 2>$null
        $id = [guid]::NewGuid().ToString('n').Substring(0, 6)
        $name = "ivpl$id"; $md = "/dev/md/$name"; $legs = "$name-leg0", "$name-leg1"; $crypts = "$name-leg0-crypt", "$name-leg1-crypt"
        $images = (Join-Path $TestDrive "${name}0.img"), (Join-Path $TestDrive "${name}1.img")
        $key = New-IvolLuksKey 'pl.key'
        $tab = Join-Path $TestDrive 'pl-crypttab'
        $created = New-IntegrityArray $name $images -Level 1 -Size 40MB -LuksKeyFile $key -LuksPerLeg -LuksPbkdf pbkdf2 -LuksIterTime 1 -CrypttabPath $tab -Confirm:$false
        $data = New-IvolRandomFile 'pl-data.bin' 65536 9
    }

    AfterAll {
        mdadm --stop $md *> $null
        foreach ($c in $crypts + "$name-leg2-crypt") { cryptsetup close $c *> $null }
        Remove-IvolTestArray ([pscustomobject]@{ Md = $md; Names = $legs + "$name-leg2"; Images = $images + (Join-Path $TestDrive "${name}2.img") })
    }

    It 'puts LUKS2 on each leg, creates md over the crypt mappings and writes one crypttab line per leg' {
        $created.CryptName | Should -BeNullOrEmpty
        $created.LegCryptPaths | Should -Be @("/dev/mapper/$($crypts[0])", "/dev/mapper/$($crypts[1])")
        ($created.Legs.MapperName | Sort-Object) | Should -Be $crypts
        ($created.Legs.Integrity.Name | Sort-Object) | Should -Be $legs
        foreach ($k in 0, 1) {
            (dmsetup table $crypts[$k]) | Should -Match ' crypt '
            (dmsetup deps -o devname $crypts[$k]) | Should -Match "\($($legs[$k])\)"
        }
        $uuids = foreach ($l in $legs) { cryptsetup luksUUID "/dev/mapper/$l" }
        $want = @("$($crypts[0]) UUID=$($uuids[0]) $key luks", "$($crypts[1]) UUID=$($uuids[1]) $key luks")
        Get-Content -LiteralPath $tab | Should -Be $want
        $created.LegCrypttabLines | Should -Be $want
        dd if=$data of=$md bs=64k oflag=direct conv=fsync status=none
    }

    It 'closes md, then each leg''s crypt mapping, then its integrity mapping' {
        $closed = Close-IntegrityArray $name -PassThru -Confirm:$false
        $closed.ClosedLegCrypts | Should -Be $crypts
        $closed.ClosedLegs | Should -Be $legs
        $closed.OtherLegs | Should -BeNullOrEmpty
        foreach ($n in $crypts + $legs) { Test-IvolMapping $n | Should -BeFalse }
    }

    It 'Open-IntegrityArray finds the LUKS headers on the legs: KeyRequired without a key (nothing left open), the stack with it' {
        $err = $null
        Open-IntegrityArray $name $images -Confirm:$false -ErrorVariable err -ErrorAction SilentlyContinue
        $err.FullyQualifiedErrorId | Should -Be "KeyRequired,$fqidOpen"
        foreach ($n in $crypts + $legs) { Test-IvolMapping $n | Should -BeFalse }

        $opened = Open-IntegrityArray $name $images -LuksKeyFile $key -Confirm:$false
        ($opened.Legs.MapperName | Sort-Object) | Should -Be $crypts
        $back = Join-Path $TestDrive 'pl-back.bin'
        dd if=$md of=$back bs=64k count=1 iflag=direct status=none
        Get-IvolHash $back | Should -Be (Get-IvolHash $data)
    }

    It 'Switch-IntegrityArrayLeg -LuksKeyFile gives the new leg its own LUKS layer (KeyRequired without it)' {
        # md resyncs a new array over per-leg LUKS; a leg is replaced only when md is idle (state, with a hang limit).
        $kname = (Get-Item $md).Target | Split-Path -Leaf
        $limit = [Diagnostics.Stopwatch]::StartNew()
        while ((Get-Content "/sys/block/$kname/md/sync_action") -ne 'idle' -and $limit.Elapsed.TotalMinutes -lt 10) { Start-Sleep -Milliseconds 200 }
        $new = Join-Path $TestDrive "${name}2.img"
        $fs = [IO.File]::Create($new); $fs.SetLength(40MB); $fs.Dispose()
        $err = $null
        Switch-IntegrityArrayLeg $md -Leg $crypts[1] -NewDevice $new -NewName "$name-leg2" -Confirm:$false -ErrorVariable err -ErrorAction SilentlyContinue
        $err.FullyQualifiedErrorId | Should -Be 'KeyRequired,IntegrityVolume.Commands.SwitchIntegrityArrayLegCommand'
        $r = Switch-IntegrityArrayLeg $md -Leg $crypts[1] -NewDevice $new -NewName "$name-leg2" -LuksKeyFile $key -LuksPbkdf pbkdf2 -LuksIterTime 1 -Confirm:$false -WarningAction SilentlyContinue
        $r.RecoveryCompleted | Should -BeTrue
        $r.NewLegCrypt.Name | Should -Be "$name-leg2-crypt"
        $r.NewLegCrypt.LuksUuid | Should -Be (cryptsetup luksUUID "/dev/mapper/$name-leg2")
        $r.OldLegClosed | Should -BeTrue
        Test-IvolMapping $crypts[1] | Should -BeFalse
        Test-IvolMapping $legs[1] | Should -BeFalse
        $back = Join-Path $TestDrive 'pl-back2.bin'
        dd if=$md of=$back bs=64k count=1 iflag=direct status=none
        Get-IvolHash $back | Should -Be (Get-IvolHash $data)
        $closed = Close-IntegrityArray $name -PassThru -Confirm:$false
        $closed.ClosedLegCrypts | Should -Be @($crypts[0], "$name-leg2-crypt")
        $closed.ClosedLegs | Should -Be @($legs[0], "$name-leg2")
    }
}
