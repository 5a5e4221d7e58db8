#Requires -Modules @{ ModuleName = 'Pester'; ModuleVersion = '5.5.0' }

BeforeDiscovery { . $PSScriptRoot/discovery.ps1 }

BeforeAll {
    . $PSScriptRoot/common.ps1
    $fqid = $IvolFqid.Write
    $payload = New-IvolRandomFile -Name 'payload.bin' -Length 300KB -Seed 7
}

Describe 'Write-IntegrityVolumeData' -Tag 'Unit' {
    Context 'Metadata' {
        It 'supports ShouldProcess with ConfirmImpact Medium and returns WriteResult' {
            $meta = [System.Management.Automation.CommandMetadata]::new((Get-Command Write-IntegrityVolumeData))
            $meta.SupportsShouldProcess | Should -BeTrue
            $meta.ConfirmImpact | Should -Be 'Medium'
            (Get-Command Write-IntegrityVolumeData).OutputType.Name | Should -Be 'IntegrityVolume.Core.WriteResult'
        }
    }

    Context 'Writing' {
        It 'takes the algorithm from New-IntegrityVolume -PassThru: the tags are SHA-256 (issue 13, defect 1)' {
            $path = Join-Path $TestDrive 'piped-sha256.img'
            $r = New-IntegrityVolume -Path $path -Size 8MB -Algorithm sha256 -PassThru -Confirm:$false |
                Write-IntegrityVolumeData -InputPath $payload -Confirm:$false
            $r.Algorithm | Should -Be 'sha256'
            (Test-IntegrityVolume -Path $path -Algorithm sha256).Healthy | Should -BeTrue
            # Witness outside the module: the kernel's tag of block 0 is SHA-256(salt || LE64(sector 0) || block) with
            # fix_hmac set (dm-integrity integrity_sector_checksum), stored at the start of the first metadata run.
            $v = Get-IntegrityVolume -Path $path
            $v.Flags | Should -Contain 'fix_hmac'
            $raw = [IO.File]::ReadAllBytes($path)
            $dataOffset = Get-IvolDataOffset -Path $path
            $tagOffset = [long](($v.ReservedSectors + $v.InitialSectors) * 512)
            $salt = [Convert]::FromHexString($v.Salt)
            $sha = [Security.Cryptography.SHA256]::Create()
            $null = $sha.TransformBlock($salt, 0, $salt.Length, $null, 0)
            $null = $sha.TransformBlock([byte[]]::new(8), 0, 8, $null, 0)
            $null = $sha.TransformFinalBlock($raw, $dataOffset, 512)
            [Convert]::ToHexString($raw, $tagOffset, 32) | Should -Be ([Convert]::ToHexString($sha.Hash))
        }

        It 'takes the algorithm and key file of a keyed volume from the pipeline, and passes them on to Test' {
            $key = New-IvolRandomFile -Name 'pipe-hmac.key' -Length 32 -Seed 3
            $path = Join-Path $TestDrive 'piped-hmac.img'
            $v = New-IntegrityVolume -Path $path -Size 8MB -Algorithm hmac-sha256 -KeyFile $key -PassThru -Confirm:$false
            $v.Algorithm | Should -Be 'hmac-sha256'
            $v.KeyFile | Should -Be $key
            $t = $v | Write-IntegrityVolumeData -InputPath $payload -Confirm:$false | Test-IntegrityVolume
            $t.Algorithm | Should -Be 'hmac(sha256)'
            $t.Healthy | Should -BeTrue
            $t.KeyFile | Should -Be $key
        }

        It 'writes the file and its tags; the volume stays healthy' {
            $vol = New-IvolTestImage
            $r = Write-IntegrityVolumeData -Path $vol -InputPath $payload
            $r | Should -BeOfType IntegrityVolume.Core.WriteResult
            $r.Path | Should -Be $vol
            $r.StartSector | Should -Be 0
            $r.SectorsWritten | Should -Be 600
            (Test-IntegrityVolume -Path $vol).Healthy | Should -BeTrue
        }

        It 'places the bytes at the logical sector offset' {
            $vol = New-IvolTestImage
            Write-IntegrityVolumeData $vol $payload -OffsetSector 64 | Out-Null
            $raw = [IO.File]::ReadAllBytes($vol)
            $expected = [IO.File]::ReadAllBytes($payload)
            $offset = Get-IvolDataOffset -Path $vol -Sector 64
            [Linq.Enumerable]::SequenceEqual([byte[]]$raw[$offset..($offset + 4095)], [byte[]]$expected[0..4095]) | Should -BeTrue
        }

        It 'resolves -InputPath against the current PowerShell location' {
            $vol = New-IvolTestImage
            Push-Location -LiteralPath $TestDrive
            try { $r = Write-IntegrityVolumeData -Path $vol -InputPath 'payload.bin' }
            finally { Pop-Location }
            $r.SectorsWritten | Should -Be 600
        }

        It 'writes keyed tags with the key file' {
            $key = New-IvolRandomFile -Name 'w.key' -Length 64
            $vol = New-IvolTestImage -Options @{ Algorithm = 'hmac-sha512'; KeyFile = $key }
            Write-IntegrityVolumeData -Path $vol -InputPath $payload -Algorithm hmac-sha512 -KeyFile $key | Out-Null
            (Test-IntegrityVolume -Path $vol -Algorithm hmac-sha512 -KeyFile $key).Healthy | Should -BeTrue
        }

        It 'writes a journal_mac volume through its journal with -JournalIntegrity and its key, and warns without them' {
            $jkey = New-IvolRandomFile -Name 'w-journal.key' -Length 32 -Seed 11
            $path = Join-Path $TestDrive 'journal-mac.img'
            New-IntegrityVolume -Path $path -Size 8MB -JournalIntegrity hmac-sha256 -JournalIntegrityKeyFile $jkey -Confirm:$false
            # With the journal MAC and key: through the journal, no warning.
            $r = Write-IntegrityVolumeData -Path $path -InputPath $payload -JournalIntegrity hmac-sha256 -JournalIntegrityKeyFile $jkey -WarningVariable journaled -WarningAction SilentlyContinue
            $r.SectorsWritten | Should -Be 600
            $journaled | Should -BeNullOrEmpty
            # Without them: written in place, and the cmdlet says so.
            $null = Write-IntegrityVolumeData -Path $path -InputPath $payload -OffsetSector 1024 -WarningVariable inPlace -WarningAction SilentlyContinue
            "$inPlace" | Should -Match 'not through the journal'
            (Test-IntegrityVolume -Path $path -JournalIntegrity hmac-sha256 -JournalIntegrityKeyFile $jkey).Healthy | Should -BeTrue
            # A wrong journal key is refused before anything is written (sections the kernel's replay would reject).
            $wrong = New-IvolRandomFile -Name 'w-journal-wrong.key' -Length 32 -Seed 12
            { Write-IntegrityVolumeData -Path $path -InputPath $payload -JournalIntegrity hmac-sha256 -JournalIntegrityKeyFile $wrong -ErrorAction Stop } |
                Should -Throw -ErrorId "KeyMismatch,$fqid"
        }

        It 'composes: New -PassThru | Write | Test' {
            $path = Join-Path $TestDrive 'composed.img'
            $r = New-IntegrityVolume -Path $path -Size 8MB -Confirm:$false -PassThru |
                Write-IntegrityVolumeData -InputPath $payload |
                Test-IntegrityVolume
            $r.Path | Should -Be $path
            $r.Healthy | Should -BeTrue
        }
    }

    Context '-WhatIf' {
        It 'leaves the volume unchanged' {
            $vol = New-IvolTestImage
            $before = Get-IvolHash $vol
            $r = Write-IntegrityVolumeData -Path $vol -InputPath $payload -WhatIf
            $r | Should -BeNullOrEmpty
            Get-IvolHash $vol | Should -Be $before
        }

        It 'still fails on a file that is not a volume' {
            $zeros = Join-Path $TestDrive 'zeros.bin'
            [IO.File]::WriteAllBytes($zeros, [byte[]]::new(1MB))
            Write-IntegrityVolumeData -Path $zeros -InputPath $payload -WhatIf -ErrorAction SilentlyContinue -ErrorVariable err
            $err[0].FullyQualifiedErrorId | Should -Be "SuperblockBadMagic,$fqid"
        }
    }

    Context 'Errors' {
        It 'refuses an offset that is not block aligned (InvalidParameter)' {
            $vol = New-IvolTestImage -Options @{ SectorSize = 4096 }
            { Write-IntegrityVolumeData -Path $vol -InputPath $payload -OffsetSector 3 -ErrorAction Stop } |
                Should -Throw -ErrorId "InvalidParameter,$fqid"
        }

        It 'refuses data that does not fit (InvalidSize)' {
            $vol = New-IvolTestImage -Size 1MB
            $big = New-IvolRandomFile -Name 'big.bin' -Length 2MB
            { Write-IntegrityVolumeData -Path $vol -InputPath $big -ErrorAction Stop } | Should -Throw -ErrorId "InvalidSize,$fqid"
        }

        It 'reports a missing input file (DeviceNotFound)' {
            $vol = New-IvolTestImage
            { Write-IntegrityVolumeData -Path $vol -InputPath (Join-Path $TestDrive 'nothing.bin') -ErrorAction Stop } |
                Should -Throw -ErrorId "DeviceNotFound,$fqid"
        }

        It 'refuses a wildcard that matches several volumes (PathAmbiguous)' {
            $null = New-IvolTestImage -Name 'amb1.img'
            $null = New-IvolTestImage -Name 'amb2.img'
            { Write-IntegrityVolumeData -Path (Join-Path $TestDrive 'amb*.img') -InputPath $payload -ErrorAction Stop } |
                Should -Throw -ErrorId "PathAmbiguous,$fqid"
        }

        It 'needs the key of a keyed algorithm (KeyRequired)' {
            $vol = New-IvolTestImage
            { Write-IntegrityVolumeData -Path $vol -InputPath $payload -Algorithm hmac-sha256 -ErrorAction Stop } |
                Should -Throw -ErrorId "KeyRequired,$fqid"
        }
    }
}

Describe 'Write-IntegrityVolumeData output read through the kernel' -Tag 'Acceptance', 'RequireRoot' -Skip:(-not $canRunAcceptance) {
    It 'reads back exactly the written bytes from /dev/mapper' {
        $path = Join-Path $TestDrive 'kernel-write.img'
        New-IntegrityVolume -Path $path -Size 32MB -Confirm:$false
        Write-IntegrityVolumeData -Path $path -InputPath $payload -OffsetSector 2048 | Out-Null
        $name = "ivol-pester-$([guid]::NewGuid().ToString('n').Substring(0, 8))"
        $loop = losetup --find --show $path
        try {
            integritysetup open $loop $name --integrity crc32c
            $LASTEXITCODE | Should -Be 0
            $copy = Join-Path $TestDrive 'readback.bin'
            dd if=/dev/mapper/$name of=$copy bs=512 skip=2048 count=600 iflag=direct status=none
            $LASTEXITCODE | Should -Be 0
            Get-IvolHash $copy | Should -Be (Get-IvolHash $payload)
        }
        finally {
            if (Test-Path "/dev/mapper/$name") { integritysetup close $name }
            losetup -d $loop
        }
    }
}
