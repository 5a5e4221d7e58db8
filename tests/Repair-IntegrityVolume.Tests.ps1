#Requires -Modules @{ ModuleName = 'Pester'; ModuleVersion = '5.5.0' }

BeforeDiscovery { . $PSScriptRoot/discovery.ps1 }

BeforeAll {
    . $PSScriptRoot/common.ps1
    $fqid = 'IntegrityVolume.Commands.RepairIntegrityVolumeCommand'
    $payload = New-IvolRandomFile -Name 'repair-payload.bin' -Length 2MB -Seed 15

    function New-IvolRepairPair {
        # A volume with random data, a byte-identical second leg, and the volume with two data bytes and one tag
        # byte corrupted (logical sectors 3, 700 and 1500).
        param([string] $Name, [hashtable] $Keyed = @{})
        $vol = New-IvolTestImage -Name "$Name.img" -Options $Keyed
        $null = Write-IntegrityVolumeData -Path $vol -InputPath $payload -Confirm:$false @Keyed
        $leg = Join-Path $TestDrive "$Name-leg.img"
        Copy-Item -LiteralPath $vol -Destination $leg
        $v = Get-IntegrityVolume -Path $vol
        Invoke-IvolFlipByte -Path $vol -Offset ((Get-IvolDataOffset -Path $vol -Sector 3) + 10)
        Invoke-IvolFlipByte -Path $vol -Offset (Get-IvolDataOffset -Path $vol -Sector 700)
        Invoke-IvolFlipByte -Path $vol -Offset ([long](($v.ReservedSectors + $v.InitialSectors) * 512 + 1500 * $v.IntegrityTagSize))
        [pscustomobject]@{ Volume = $vol; Leg = $leg }
    }
}

Describe 'Repair-IntegrityVolume' -Tag 'Unit' {
    Context 'Metadata' {
        It 'supports ShouldProcess with ConfirmImpact High and returns RepairResult' {
            $meta = [System.Management.Automation.CommandMetadata]::new((Get-Command Repair-IntegrityVolume))
            $meta.SupportsShouldProcess | Should -BeTrue
            $meta.ConfirmImpact | Should -Be 'High'
            (Get-Command Repair-IntegrityVolume).OutputType.Name | Should -Be 'IntegrityVolume.Core.RepairResult'
        }
    }

    Context '-WhatIf' {
        It 'writes nothing when only an interrupted write record would be settled (no block to rewrite)' {
            $ivol = Join-Path $PSScriptRoot '..' 'out' 'IntegrityVolume' 'bin' 'ivol'
            if (-not (Test-Path -LiteralPath $ivol)) { Set-ItResult -Skipped -Because 'the packaged NativeAOT ivol is missing'; return }
            $vol = New-IvolTestImage -Name 'whatif-record.img'
            # ivol killed (SIGKILL, the fault hook) at its 4th device write: through the journal every block is old or
            # new with a valid tag, and the intent record stays.
            $env:IVOL_TEST_KILL_AT_WRITE = '4'
            try { & $ivol write $vol --input $payload --offset 2048 2>$null } finally { Remove-Item Env:IVOL_TEST_KILL_AT_WRITE }
            (Get-IntegrityVolume -Path $vol).InterruptedWrite | Should -Not -BeNullOrEmpty
            $before = (Get-FileHash -LiteralPath $vol).Hash
            $r = Repair-IntegrityVolume -Path $vol -ZeroLost -WhatIf
            $r.WhatIf | Should -BeTrue
            (Get-FileHash -LiteralPath $vol).Hash | Should -Be $before
            (Get-IntegrityVolume -Path $vol).InterruptedWrite | Should -Not -BeNullOrEmpty
        }
    }

    Context 'Repairing' {
        It 'repairs exactly what Test-IntegrityVolume found, from the second leg, through the pipeline' {
            $p = New-IvolRepairPair -Name 'pipe'
            $t = Test-IntegrityVolume -Path $p.Volume
            $t.Healthy | Should -BeFalse
            @($t.MismatchedSectors.Start) | Should -Be @(3, 700, 1500)
            $r = $t | Repair-IntegrityVolume -From $p.Leg -Confirm:$false
            $r | Should -BeOfType IntegrityVolume.Core.RepairResult
            $r.BlocksExamined | Should -Be 3        # only the piped ranges were read
            $r.HealedBlocks | Should -Be 3
            $r.Complete | Should -BeTrue
            @($r.Ranges.Outcome | Sort-Object -Unique) | Should -Be @('Healed')
            (Test-IntegrityVolume -Path $p.Volume).Healthy | Should -BeTrue
            # Data and tags equal the untouched leg's everywhere outside the journal area (its ring position moved).
            $j = Get-IntegrityVolume -Path $p.Volume
            $skip = [long](($j.ReservedSectors + $j.InitialSectors) * 512)
            $a = [IO.File]::ReadAllBytes($p.Volume); $b = [IO.File]::ReadAllBytes($p.Leg)
            $sha = [Security.Cryptography.SHA256]::Create()
            $a.Length | Should -Be $b.Length
            [Convert]::ToHexString($sha.ComputeHash($a, $skip, $a.Length - $skip)) | Should -Be ([Convert]::ToHexString($sha.ComputeHash($b, $skip, $b.Length - $skip)))
        }

        It '-WhatIf lists the block count once per volume and writes nothing' {
            $p = New-IvolRepairPair -Name 'whatif'
            $before = Get-IvolHash $p.Volume
            $r = Repair-IntegrityVolume -Path $p.Volume -From $p.Leg -WhatIf
            $r.WhatIf | Should -BeTrue
            $r.BlocksToWrite | Should -Be 3
            Get-IvolHash $p.Volume | Should -Be $before
            (Test-IntegrityVolume -Path $p.Volume).MismatchedBlocks | Should -Be 3
        }

        It '-ZeroLost lists exactly the corrupted blocks and the volume verifies' {
            $p = New-IvolRepairPair -Name 'zero'
            $r = Repair-IntegrityVolume -Path $p.Volume -ZeroLost -Confirm:$false
            @($r.LostSectors | ForEach-Object { $_.ToString() }) | Should -Be @('3', '700', '1500')
            (Test-IntegrityVolume -Path $p.Volume).Healthy | Should -BeTrue
        }

        It '-Retag takes sector strings and accepts the current data' {
            $p = New-IvolRepairPair -Name 'retag'
            $r = Repair-IntegrityVolume -Path $p.Volume -Retag -Sector '3', '700-700', '1500' -Confirm:$false
            $r.RetaggedBlocks | Should -Be 3
            (Test-IntegrityVolume -Path $p.Volume).Healthy | Should -BeTrue
        }

        It 'a copy that is bad too gives NoGoodCopy, a warning, and writes nothing' {
            $p = New-IvolRepairPair -Name 'bad'
            Copy-Item -LiteralPath $p.Volume -Destination $p.Leg -Force
            $before = Get-IvolHash $p.Volume
            $r = Repair-IntegrityVolume -Path $p.Volume -From $p.Leg -Confirm:$false -WarningVariable w 3>$null
            $r.UnrepairedBlocks | Should -Be 3
            @($r.Ranges.Outcome | Sort-Object -Unique) | Should -Be @('NoGoodCopy')
            ($w -join "`n") | Should -Match 'could not be repaired'
            Get-IvolHash $p.Volume | Should -Be $before
        }
    }

    Context 'Errors' {
        It 'refuses a copy that is too small with RepairSourceTooSmall' {
            $p = New-IvolRepairPair -Name 'small'
            $small = Join-Path $TestDrive 'small.raw'
            [IO.File]::WriteAllBytes($small, [byte[]]::new(4096))
            Repair-IntegrityVolume -Path $p.Volume -From $small -Confirm:$false -ErrorVariable e -ErrorAction SilentlyContinue
            $e[0].FullyQualifiedErrorId | Should -Be "RepairSourceTooSmall,$fqid"
        }

        It 'refuses the wrong algorithm before writing (AlgorithmMismatch)' {
            $p = New-IvolRepairPair -Name 'alg'
            $before = Get-IvolHash $p.Volume
            Repair-IntegrityVolume -Path $p.Volume -ZeroLost -Algorithm sha256 -Confirm:$false -ErrorVariable e -ErrorAction SilentlyContinue
            $e[0].FullyQualifiedErrorId | Should -Be "AlgorithmMismatch,$fqid"
            Get-IvolHash $p.Volume | Should -Be $before
        }

        It 'needs something to do (InvalidParameter)' {
            $p = New-IvolRepairPair -Name 'none'
            Repair-IntegrityVolume -Path $p.Volume -Confirm:$false -ErrorVariable e -ErrorAction SilentlyContinue
            $e[0].FullyQualifiedErrorId | Should -Be "InvalidParameter,$fqid"
        }
    }

    Context 'Online (-Name)' {
        It '-Name is its own parameter set: not with -Path, -Wait or -Algorithm' {
            { Repair-IntegrityVolume -Name v -Path ./x.img -ZeroLost -WhatIf } | Should -Throw -ErrorId "AmbiguousParameterSet,$fqid"
            { Repair-IntegrityVolume -Name v -Wait -ZeroLost -WhatIf } | Should -Throw -ErrorId "AmbiguousParameterSet,$fqid"
            { Repair-IntegrityVolume -Name v -Algorithm sha256 -ZeroLost -WhatIf } | Should -Throw -ErrorId "AmbiguousParameterSet,$fqid"
        }

        It '-KeyFile binds with -Name (the online repair checks a keyed copy with it)' {
            if (Test-Path -LiteralPath /sys/module/dm_mod) { Set-ItResult -Skipped -Because 'device-mapper is loaded'; return }
            $key = Join-Path $TestDrive 'online.key'
            [IO.File]::WriteAllBytes($key, [byte[]](1..32))
            Repair-IntegrityVolume -Name v -KeyFile $key -From $key -WhatIf -ErrorVariable e -ErrorAction SilentlyContinue
            $e[0].FullyQualifiedErrorId | Should -Be "DeviceMapperUnavailable,$fqid"
        }

        It 'checks the mode rules before any device (InvalidParameter)' {
            Repair-IntegrityVolume -Name v -Retag -WhatIf -ErrorVariable e -ErrorAction SilentlyContinue
            $e[0].FullyQualifiedErrorId | Should -Be "InvalidParameter,$fqid"
        }

        It 'without device-mapper (the host) -WhatIf too ends with DeviceMapperUnavailable' {
            if (Test-Path -LiteralPath /sys/module/dm_mod) { Set-ItResult -Skipped -Because 'device-mapper is loaded'; return }
            Repair-IntegrityVolume -Name v -ZeroLost -WhatIf -ErrorVariable e -ErrorAction SilentlyContinue
            $e[0].FullyQualifiedErrorId | Should -Be "DeviceMapperUnavailable,$fqid"
        }
    }
}

Describe 'Repair-IntegrityVolume of active volumes through the kernel' -Tag 'Acceptance', 'RequireRoot' -Skip:(-not $canRunAcceptance) {
    BeforeEach {
        $name = "ivolrep$([guid]::NewGuid().ToString('n').Substring(0, 8))"
        $p = New-IvolRepairPair -Name $name
        Open-IntegrityVolume -Path $p.Volume -Name $name -Confirm:$false
    }

    AfterEach {
        dmsetup remove --force "$name-holder" *> $null
        Remove-IvolTestMapping -Name $name -Image $p.Volume
    }

    It 'Test-IntegrityVolume -Name piped to Repair-IntegrityVolume -From heals exactly the blocks the kernel fails' {
        $t = Test-IntegrityVolume -Name $name -WarningAction SilentlyContinue
        @($t.MismatchedSectors.Start) | Should -Be @(3, 700, 1500)
        $r = $t | Repair-IntegrityVolume -From $p.Leg -Confirm:$false
        $r | Should -BeOfType IntegrityVolume.Core.RepairResult
        $r.Name | Should -Be $name
        $r.BlocksExamined | Should -Be 3        # only the piped ranges were read
        $r.HealedBlocks | Should -Be 3
        @($r.Ranges.StartSector) | Should -Be @(3, 700, 1500)
        # The kernel computed the new tags: it reads the original payload back and fails nothing.
        $got = Join-Path $TestDrive "$name-read.bin"
        dd if=/dev/mapper/$name of=$got bs=1M count=2 iflag=direct status=none
        $LASTEXITCODE | Should -Be 0
        Get-IvolHash $got | Should -Be (Get-IvolHash $payload)
        (Test-IntegrityVolume -Name $name -Quiet -WarningAction SilentlyContinue) | Should -BeTrue
        Close-IntegrityVolume -Name $name -Confirm:$false
        (Test-IntegrityVolume -Path $p.Volume).Healthy | Should -BeTrue
    }

    It '-WhatIf plans the online repair and writes nothing' {
        $r = Repair-IntegrityVolume -Name $name -From $p.Leg -WhatIf
        $r.WhatIf | Should -BeTrue
        $r.BlocksToWrite | Should -Be 3
        (Test-IntegrityVolume -Name $name -WarningAction SilentlyContinue).MismatchedBlocks | Should -Be 3
    }

    It '-ZeroLost lists exactly the failing blocks as lost and the kernel then reads zeros there' {
        $r = Repair-IntegrityVolume -Name $name -ZeroLost -Confirm:$false
        @($r.LostSectors | ForEach-Object { $_.ToString() }) | Should -Be @('3', '700', '1500')
        foreach ($s in 3, 700, 1500) {
            $one = Join-Path $TestDrive "$name-$s.bin"
            dd if=/dev/mapper/$name of=$one bs=512 skip=$s count=1 iflag=direct status=none
            $LASTEXITCODE | Should -Be 0
            [IO.File]::ReadAllBytes($one) | Where-Object { $_ -ne 0 } | Should -BeNullOrEmpty
        }
        (Test-IntegrityVolume -Name $name -Quiet -WarningAction SilentlyContinue) | Should -BeTrue
    }

    It 'refuses a mapping another device holds unless -Force (DeviceInUse), and a read-only one (OnlineRepairRefused)' {
        $sectors = (Get-IntegrityVolume -Name $name).ProvidedDataSectors
        "0 $sectors linear /dev/mapper/$name 0" | dmsetup create "$name-holder"
        $LASTEXITCODE | Should -Be 0
        Repair-IntegrityVolume -Name $name -ZeroLost -Confirm:$false -ErrorVariable e -ErrorAction SilentlyContinue
        $e[0].FullyQualifiedErrorId | Should -Be "DeviceInUse,$fqid"
        (Test-IntegrityVolume -Name $name -WarningAction SilentlyContinue).MismatchedBlocks | Should -Be 3
        dmsetup remove "$name-holder"
        Close-IntegrityVolume -Name $name -Confirm:$false
        Open-IntegrityVolume -Path $p.Volume -Name $name -ReadOnly -Confirm:$false
        Repair-IntegrityVolume -Name $name -ZeroLost -Confirm:$false -ErrorVariable e2 -ErrorAction SilentlyContinue
        $e2[0].FullyQualifiedErrorId | Should -Be "OnlineRepairRefused,$fqid"
    }
}

Describe 'Repair-IntegrityVolume of an active keyed volume (-KeyFile)' -Tag 'Acceptance', 'RequireRoot' -Skip:(-not $canRunAcceptance) {
    BeforeEach {
        $name = "ivolrepk$([guid]::NewGuid().ToString('n').Substring(0, 8))"
        $key = Join-Path $TestDrive "$name.key"
        [IO.File]::WriteAllBytes($key, [byte[]](1..32))
        $keyed = @{ Algorithm = 'hmac-sha256'; KeyFile = $key }
        $p = New-IvolRepairPair -Name $name -Keyed $keyed
        # The copy's block at sector 700 is bad too: only the copy's own hmac tag can tell.
        Invoke-IvolFlipByte -Path $p.Leg -Offset ((Get-IvolDataOffset -Path $p.Leg -Sector 700) + 1)
        Open-IntegrityVolume -Path $p.Volume -Name $name @keyed -Confirm:$false
    }

    AfterEach { Remove-IvolTestMapping -Name $name -Image $p.Volume }

    It 'checks the copy''s own tags with the key: good copy blocks heal, the bad one is left failing (no good copy)' {
        $r = Repair-IntegrityVolume -Name $name -From $p.Leg -KeyFile $key -Confirm:$false -WarningVariable w -WarningAction SilentlyContinue
        $r.HealedBlocks | Should -Be 2
        $r.HealedUnverifiedBlocks | Should -Be 0
        @($r.UnrepairedSectors | ForEach-Object { $_.ToString() }) | Should -Be @('700')
        ($w -join "`\n") | Should -Not -Match 'read as plain data'
        # The kernel (which holds the key) reads the healed blocks as the original payload and still fails sector 700.
        $got = Join-Path $TestDrive "$name-read.bin"
        foreach ($s in 3, 1500) {
            dd if=/dev/mapper/$name of=$got bs=512 skip=$s count=1 iflag=direct status=none
            $LASTEXITCODE | Should -Be 0
            $want = [IO.File]::ReadAllBytes($payload)[($s * 512)..($s * 512 + 511)]
            [IO.File]::ReadAllBytes($got) | Should -Be $want
        }
        @((Test-IntegrityVolume -Name $name -WarningAction SilentlyContinue).MismatchedSectors.Start) | Should -Be @(700)
    }

    It 'without -KeyFile says the copy is read as plain data and heals nothing it cannot verify' {
        $r = Repair-IntegrityVolume -Name $name -From $p.Leg -Confirm:$false -WarningVariable w -WarningAction SilentlyContinue
        ($w -join "`\n") | Should -Match 'read as plain data'
        $r.HealedBlocks | Should -Be 0
        (Test-IntegrityVolume -Name $name -WarningAction SilentlyContinue).MismatchedBlocks | Should -Be 3
    }
}
