#Requires -Modules @{ ModuleName = 'Pester'; ModuleVersion = '5.5.0' }

BeforeDiscovery { . $PSScriptRoot/discovery.ps1 }

BeforeAll {
    . $PSScriptRoot/common.ps1
    $fqid = 'IntegrityVolume.Commands.OpenIntegrityVolumeCommand'

    function New-IvolMapperName { "ivolopen$([guid]::NewGuid().ToString('n').Substring(0, 8))" }
}

Describe 'Open-IntegrityVolume' -Tag 'Unit' {
    Context 'Binding' {
        It 'takes the volume at position 0 and the mapper name at position 1, the name never from the pipeline' {
            $cmd = Get-Command Open-IntegrityVolume
            $path = $cmd.Parameters['Path'].Attributes | Where-Object { $_ -is [System.Management.Automation.ParameterAttribute] }
            $path.Position | Should -Be 0
            $path.ValueFromPipelineByPropertyName | Should -BeTrue
            $name = $cmd.Parameters['Name'].Attributes | Where-Object { $_ -is [System.Management.Automation.ParameterAttribute] }
            $name.Mandatory | Should -BeTrue
            $name.Position | Should -Be 1
            $name.ValueFromPipeline | Should -BeFalse
            $name.ValueFromPipelineByPropertyName | Should -BeFalse
            $cmd.OutputType.Name | Should -Be 'IntegrityVolume.Core.Kernel.IntegrityMappingInfo'
        }

        It 'offers the kernel modes a user may ask for' {
            $set = (Get-Command Open-IntegrityVolume).Parameters['Mode'].Attributes | Where-Object { $_ -is [System.Management.Automation.ValidateSetAttribute] }
            $set.ValidValues | Should -Be @('Journal', 'Bitmap', 'Direct', 'Recovery')
        }

        It 'supports -WhatIf and -Confirm with ConfirmImpact Medium' {
            $cmd = Get-Command Open-IntegrityVolume
            $cmd.Parameters.Keys | Should -Contain 'WhatIf'
            $cmd.ImplementingType.GetCustomAttributes([System.Management.Automation.CmdletAttribute], $false).ConfirmImpact | Should -Be 'Medium'
        }
    }

    Context '-WhatIf checks the volume without the kernel' {
        It 'reads the superblock, shows the table and creates nothing' {
            $img = New-IvolTestImage
            $name = New-IvolMapperName
            $verbose = Open-IntegrityVolume -Path $img -Name $name -WhatIf -Verbose 4>&1
            ($verbose | Where-Object { $_ -is [System.Management.Automation.VerboseRecord] }).Message -join "`n" |
                Should -Match "dm-integrity table for ${name}: .* 0 4 J .*internal_hash:crc32c"
            Test-Path "/dev/mapper/$name" | Should -BeFalse
        }

        It 'binds a VolumeInfo by property name' {
            $img = New-IvolTestImage
            { Get-IntegrityVolume -Path $img | Open-IntegrityVolume -Name (New-IvolMapperName) -WhatIf -ErrorAction Stop } | Should -Not -Throw
        }

        It 'reports a file that is not a volume' {
            $zeros = Join-Path $TestDrive 'zeros.bin'
            [IO.File]::WriteAllBytes($zeros, [byte[]]::new(1MB))
            { Open-IntegrityVolume -Path $zeros -Name v -WhatIf -ErrorAction Stop } | Should -Throw -ErrorId "SuperblockBadMagic,$fqid"
        }

        It 'refuses options the mode does not take, a keyed algorithm without key, and bad names' {
            $img = New-IvolTestImage
            { Open-IntegrityVolume $img v -Mode Bitmap -JournalWatermark 60 -WhatIf -ErrorAction Stop } | Should -Throw -ErrorId "InvalidParameter,$fqid"
            { Open-IntegrityVolume $img v -BitmapSectorsPerBit 8 -WhatIf -ErrorAction Stop } | Should -Throw -ErrorId "InvalidParameter,$fqid"
            { Open-IntegrityVolume $img v -Algorithm hmac-sha256 -WhatIf -ErrorAction Stop } | Should -Throw -ErrorId "KeyRequired,$fqid"
            { Open-IntegrityVolume $img 'a/b' -WhatIf -ErrorAction Stop } | Should -Throw -ErrorId "InvalidMapperName,$fqid"
            { Open-IntegrityVolume $img v -JournalWatermark 101 -WhatIf } | Should -Throw -ErrorId "ParameterArgumentValidationError,$fqid"
            # -Mode is Core's IntegrityMode: names bind in any case; Inline comes from the superblock, never from the user.
            { Open-IntegrityVolume $img v -Mode direct -WhatIf -ErrorAction Stop } | Should -Not -Throw
            { Open-IntegrityVolume $img v -Mode Inline -WhatIf } | Should -Throw -ErrorId "ParameterArgumentValidationError,$fqid"
        }
    }

    Context 'Without device-mapper' -Skip:$hasDeviceMapper {
        It 'writes DeviceMapperUnavailable with the volume left alone' {
            $img = New-IvolTestImage
            $before = Get-IvolHash $img
            { Open-IntegrityVolume -Path $img -Name v -Confirm:$false -ErrorAction Stop } | Should -Throw -ErrorId "DeviceMapperUnavailable,$fqid"
            Get-IvolHash $img | Should -Be $before
        }
    }
}

Describe 'Open-IntegrityVolume through the kernel' -Tag 'Acceptance', 'RequireRoot' -Skip:(-not $canRunAcceptance) {
    BeforeEach {
        $name = New-IvolMapperName
        $img = New-IvolTestImage -Size 16MB
    }

    AfterEach { Remove-IvolTestMapping -Name $name -Image $img }

    It 'opens an image as /dev/mapper/<name> over an autoclear loop device, as integritysetup would' {
        $m = Open-IntegrityVolume -Path $img -Name $name -Confirm:$false -PassThru
        $m | Should -BeOfType IntegrityVolume.Core.Kernel.IntegrityMappingInfo
        $m.Path | Should -Be "/dev/mapper/$name"
        $m.Mode | Should -Be ([IntegrityVolume.Core.Kernel.IntegrityMode]::Journal)
        $m.Mode | Should -BeOfType ([IntegrityVolume.Core.Kernel.IntegrityMode])
        $m.Algorithm | Should -Be 'crc32c'
        $m.DataLoopBackingFile | Should -Be $img
        $m.ProvidedDataSectors | Should -Be (Get-IntegrityVolume -Path $img).ProvidedDataSectors
        Test-Path -LiteralPath $m.Path | Should -BeTrue
        dmsetup info -c --noheadings -o uuid $name | Should -Be "CRYPT-INTEGRITY-$name"
        (integritysetup status $name) -join "`n" | Should -Match 'integrity: crc32c'
        Close-IntegrityVolume -Name $name -Confirm:$false
        Test-Path -LiteralPath $m.Path | Should -BeFalse
        @(losetup -j $img) | Should -BeNullOrEmpty
    }

    It 'writes through the kernel what the offline verifier accepts' {
        Open-IntegrityVolume -Path $img -Name $name -Confirm:$false
        $data = New-IvolRandomFile -Name 'data.bin' -Length 1MB -Seed 3
        dd if=$data of=/dev/mapper/$name bs=1M oflag=direct conv=fsync status=none
        $LASTEXITCODE | Should -Be 0
        Close-IntegrityVolume -Name $name -Confirm:$false
        Test-IntegrityVolume -Path $img -Quiet | Should -BeTrue
    }

    It 'opens read-only in bitmap mode with the tuning it is given' {
        $m = Open-IntegrityVolume $img $name -Mode bitmap -ReadOnly -BitmapFlushInterval 1000 -Confirm:$false -PassThru
        $m.Mode | Should -Be ([IntegrityVolume.Core.Kernel.IntegrityMode]::Bitmap)
        $m.ReadOnly | Should -BeTrue
        $m.BitmapFlushIntervalMs | Should -Be 1000
    }

    It 'opens a keyed volume with its key file' {
        $key = New-IvolRandomFile -Name 'k.bin' -Length 32
        $keyed = New-IvolTestImage -Size 16MB -Options @{ Algorithm = 'hmac-sha256'; KeyFile = $key }
        try {
            $m = Open-IntegrityVolume $keyed $name -Algorithm hmac-sha256 -KeyFile $key -Confirm:$false -PassThru
            $m.Keyed | Should -BeTrue
            $m.Table | Should -Not -Match ([BitConverter]::ToString([IO.File]::ReadAllBytes($key)).Replace('-', '').ToLowerInvariant())
            dd if=/dev/mapper/$name of=/dev/null bs=1M iflag=direct status=none
            $LASTEXITCODE | Should -Be 0
        }
        finally { Remove-IvolTestMapping -Name $name -Image $keyed }
    }

    It 'refuses a name that is taken' {
        Open-IntegrityVolume $img $name -Confirm:$false
        $other = New-IvolTestImage -Size 16MB
        { Open-IntegrityVolume $other $name -Confirm:$false -ErrorAction Stop } | Should -Throw -ErrorId "MapperNameTaken,$fqid"
        @(losetup -j $other) | Should -BeNullOrEmpty
    }

    It 'reports the kernel''s reason for a table it rejects and cleans up' {
        $err = $null
        Open-IntegrityVolume $img $name -Algorithm no-such-hash -Confirm:$false -ErrorVariable err -ErrorAction SilentlyContinue
        $err[0].FullyQualifiedErrorId | Should -Be "TableLoadRejected,$fqid"
        $err[0].Exception.Message | Should -Match 'Invalid internal hash'
        dmsetup info $name *> $null
        $LASTEXITCODE | Should -Not -Be 0
        @(losetup -j $img) | Should -BeNullOrEmpty
    }

    It 'verifies the open volume online: the sectors the kernel refuses equal the offline verdict' {
        # Corrupt two data sectors of the closed volume, reopen, and read everything through the kernel.
        Invoke-IvolFlipByte -Path $img -Offset ((Get-IvolDataOffset -Path $img -Sector 5) + 1)
        Invoke-IvolFlipByte -Path $img -Offset ((Get-IvolDataOffset -Path $img -Sector 300) + 2)
        $offline = Test-IntegrityVolume -Path $img
        Open-IntegrityVolume $img $name -Confirm:$false
        $online = Test-IntegrityVolume -Name $name -WarningAction SilentlyContinue
        $online | Should -BeOfType IntegrityVolume.Core.Verification.OnlineVerifyResult
        $online.MismatchedSectors.Start | Should -Be $offline.MismatchedSectors.Start
        $online.MismatchedBlocks | Should -Be 2
        $online.FailuresDelta | Should -BeGreaterOrEqual 2
        (Get-IntegrityVolume -Name $name | Test-IntegrityVolume -Quiet -WarningAction SilentlyContinue) | Should -BeFalse
    }
}

Describe 'A journal the kernel encrypts (-JournalCrypt)' -Tag 'Acceptance', 'RequireRoot' -Skip:(-not $canRunAcceptance) {
    BeforeEach {
        $name = New-IvolMapperName
        $img = Join-Path $TestDrive "jc-$name.img"
        $crash = Join-Path $TestDrive "jc-$name-crash.img"
        $jkey = New-IvolRandomFile -Name 'jk.bin' -Length 32
        # integritysetup formats with an encrypted journal (cbc-aes), as a migrating user's volume would be.
        $null = truncate -s 16M $img
        $loop = losetup -f --show $img
        integritysetup format --batch-mode $loop --journal-size 1M --journal-crypt cbc-aes --journal-crypt-key-file $jkey --journal-crypt-key-size 32
        $LASTEXITCODE | Should -Be 0
        losetup -d $loop
    }

    AfterEach { Remove-IvolTestMapping -Name $name -Image $img }

    It 'opens it with the cipher and key, and verifies a crash copy''s pending entries offline' {
        $m = Open-IntegrityVolume $img $name -JournalCrypt cbc-aes -JournalCryptKeyFile $jkey -Confirm:$false -PassThru
        $m.JournalCrypt | Should -Be 'cbc(aes)'
        $data = New-IvolRandomFile -Name 'd.bin' -Length 8KB -Seed 7
        # Committed to the journal (O_DIRECT + fsync), not yet written in place: the copy is what a crash leaves.
        dd if=$data of=/dev/mapper/$name bs=512 seek=4000 oflag=direct conv=fsync status=none
        $LASTEXITCODE | Should -Be 0
        Copy-Item -LiteralPath $img -Destination $crash
        Close-IntegrityVolume -Name $name -Confirm:$false

        $r = Test-IntegrityVolume -Path $crash -JournalCrypt cbc-aes -JournalCryptKeyFile $jkey
        $r.Verdict | Should -Be 'Healthy'
        $r.JournalState | Should -Be 'Pending'
        $r.JournalPendingBlocks | Should -Be 16
        $r.FailedJournalEntries | Should -BeNullOrEmpty
        $plain = Test-IntegrityVolume -Path $crash -WarningAction SilentlyContinue
        $plain.Verdict | Should -Be 'Incomplete'
        $plain.JournalState | Should -Be 'Unreadable'
        { Test-IntegrityVolume -Path $crash -JournalCrypt cbc-aes -ErrorAction Stop } | Should -Throw -ErrorId 'KeyRequired,IntegrityVolume.Commands.TestIntegrityVolumeCommand'
    }

    It 'refuses -JournalCrypt for a journal formatted unencrypted' {
        $plain = New-IvolTestImage -Size 16MB
        try {
            { Open-IntegrityVolume $plain $name -JournalCrypt cbc-aes -JournalCryptKeyFile $jkey -Confirm:$false -ErrorAction Stop } |
                Should -Throw -ErrorId "JournalNotEncrypted,$fqid"
            { Test-IntegrityVolume -Path $plain -JournalCrypt cbc-aes -JournalCryptKeyFile $jkey -ErrorAction Stop } |
                Should -Throw -ErrorId 'JournalNotEncrypted,IntegrityVolume.Commands.TestIntegrityVolumeCommand'
        }
        finally { Remove-IvolTestMapping -Name $name -Image $plain }
    }
}
