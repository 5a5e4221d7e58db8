#Requires -Modules @{ ModuleName = 'Pester'; ModuleVersion = '5.5.0' }

BeforeDiscovery { . $PSScriptRoot/discovery.ps1 }

BeforeAll {
    . $PSScriptRoot/common.ps1
    $fqid = $IvolFqid.New
}

Describe 'New-IntegrityVolume' -Tag 'Unit' {
    Context 'Metadata' {
        It 'supports ShouldProcess with ConfirmImpact High' {
            $meta = [System.Management.Automation.CommandMetadata]::new((Get-Command New-IntegrityVolume))
            $meta.SupportsShouldProcess | Should -BeTrue
            $meta.ConfirmImpact | Should -Be 'High'
        }

        It 'declares VolumeInfo as its output type' {
            (Get-Command New-IntegrityVolume).OutputType.Name | Should -Be 'IntegrityVolume.Core.VolumeInfo'
        }

        It 'binds -Path by position' {
            $path = Join-Path $TestDrive 'positional.img'
            New-IntegrityVolume $path -Size 4MB -Confirm:$false
            Test-Path -LiteralPath $path | Should -BeTrue
        }

        It 'completes -Algorithm with the supported names' {
            $line = 'New-IntegrityVolume -Path x.img -Algorithm hmac-'
            $result = TabExpansion2 -inputScript $line -cursorColumn $line.Length
            $result.CompletionMatches.CompletionText | Should -Be @('hmac-sha1', 'hmac-sha256', 'hmac-sha512')
        }

        It 'rejects a sector size the kernel does not support' {
            { New-IntegrityVolume -Path (Join-Path $TestDrive 'x.img') -Size 4MB -SectorSize 8192 -Confirm:$false } |
                Should -Throw -ErrorId "ParameterArgumentValidationError,$fqid"
        }
    }

    Context 'Formatting image files' {
        It 'creates the file with the given size and writes nothing to the pipeline' {
            $path = Join-Path $TestDrive 'plain.img'
            $out = New-IntegrityVolume -Path $path -Size 8MB -Confirm:$false
            $out | Should -BeNullOrEmpty
            (Get-Item -LiteralPath $path).Length | Should -Be 8MB
            $v = Get-IntegrityVolume -Path $path
            $v.SuperblockVersion | Should -Be 5
            $v.Flags | Should -Be @('fix_padding', 'fix_hmac')
            $v.IntegrityTagSize | Should -Be 4
            $v.SectorSize | Should -Be 512
        }

        It '-PassThru returns the new volume' {
            $path = Join-Path $TestDrive 'passthru.img'
            $v = New-IntegrityVolume -Path $path -Size 8MB -SectorSize 4096 -Algorithm sha256 -Confirm:$false -PassThru
            $v | Should -BeOfType IntegrityVolume.Core.VolumeInfo
            $v.Path | Should -Be $path
            $v.SectorSize | Should -Be 4096
            $v.IntegrityTagSize | Should -Be 32
            (Get-IntegrityVolume -Path $path).ProvidedDataSectors | Should -Be $v.ProvidedDataSectors
        }

        It 'resolves a relative -Path against the current PowerShell location' {
            Push-Location -LiteralPath $TestDrive
            try { New-IntegrityVolume -Path 'relative.img' -Size 4MB -Confirm:$false }
            finally { Pop-Location }
            Test-Path -LiteralPath (Join-Path $TestDrive 'relative.img') | Should -BeTrue
        }

        It 'formats a keyed volume with -KeyFile and -TagSize' {
            $key = New-IvolRandomFile -Name 'key.bin' -Length 32
            $path = Join-Path $TestDrive 'hmac.img'
            $v = New-IntegrityVolume -Path $path -Size 8MB -Algorithm hmac-sha256 -KeyFile $key -TagSize 16 -Confirm:$false -PassThru
            $v.IntegrityTagSize | Should -Be 16
            (Test-IntegrityVolume -Path $path -Algorithm hmac-sha256 -KeyFile $key).Healthy | Should -BeTrue
        }

        It '-NoWipe leaves tag computation to the kernel' {
            $v = New-IntegrityVolume -Path (Join-Path $TestDrive 'nowipe.img') -Size 8MB -NoWipe -Confirm:$false -PassThru
            $v.Flags | Should -Contain 'recalculating'
            $v.Recalculating | Should -BeTrue
        }

        It '-LegacyHmac and -LegacyPadding produce an old-style superblock' {
            $v = New-IntegrityVolume -Path (Join-Path $TestDrive 'legacy.img') -Size 8MB -LegacyHmac -LegacyPadding -Confirm:$false -PassThru
            $v.Flags | Should -BeNullOrEmpty
            $v.SuperblockVersion | Should -Be 1
            $v.Salt | Should -Be ('0' * 32)
        }

        It 'formats every path of a string array, and plain strings from the pipeline (issue 13, defect 2)' {
            (Get-Command New-IntegrityVolume).Parameters.Path.ParameterType | Should -Be ([string[]])
            $a = Join-Path $TestDrive 'many-a.img'; $b = Join-Path $TestDrive 'many-b.img'; $c = Join-Path $TestDrive 'many-c.img'
            $r = New-IntegrityVolume -Path $a, $b -Size 1MB -PassThru -Confirm:$false
            $r.Path | Should -Be @($a, $b)
            ($c | New-IntegrityVolume -Size 1MB -PassThru -Confirm:$false).Path | Should -Be $c
            (Test-IntegrityVolume -Path $a, $b, $c -Quiet) | Should -Be @($true, $true, $true)
        }

        It 'takes -Path literally (no wildcards: the file does not exist yet)' {
            (Get-Command New-IntegrityVolume).Parameters.Path.Attributes.TypeId.Name | Should -Not -Contain 'SupportsWildcardsAttribute'
            $odd = Join-Path $TestDrive 'new[1].img'
            (New-IntegrityVolume -Path $odd -Size 1MB -PassThru -Confirm:$false).Path | Should -Be $odd
        }

        It 'binds Get-ChildItem output by property name' {
            $path = Join-Path $TestDrive 'piped.img'
            [IO.File]::WriteAllBytes($path, [byte[]]::new(4MB))
            $v = Get-Item -LiteralPath $path | New-IntegrityVolume -Confirm:$false -PassThru
            $v.Path | Should -Be $path
        }

        It 'writes verbose output about the layout and the tag initialisation' {
            $verbose = New-IntegrityVolume -Path (Join-Path $TestDrive 'verbose.img') -Size 8MB -Confirm:$false -Verbose 4>&1
            ($verbose | Out-String) | Should -Match 'tag initialisation: tags-only'
        }
    }

    Context '-WhatIf' {
        It 'does not create the file' {
            $path = Join-Path $TestDrive 'whatif.img'
            New-IntegrityVolume -Path $path -Size 8MB -WhatIf
            Test-Path -LiteralPath $path | Should -BeFalse
        }

        It 'with -PassThru emits the predicted volume, which the real format then matches' {
            $path = Join-Path $TestDrive 'predicted.img'
            $predicted = New-IntegrityVolume -Path $path -Size 16MB -SectorSize 1024 -WhatIf -PassThru
            Test-Path -LiteralPath $path | Should -BeFalse
            $predicted | Should -BeOfType IntegrityVolume.Core.VolumeInfo
            $real = New-IntegrityVolume -Path $path -Size 16MB -SectorSize 1024 -Confirm:$false -PassThru
            $real.ProvidedDataSectors | Should -Be $predicted.ProvidedDataSectors
            $real.JournalSections | Should -Be $predicted.JournalSections
            $real.DeviceBytes | Should -Be $predicted.DeviceBytes
        }

        It 'leaves an existing volume byte-for-byte unchanged' {
            $path = New-IvolTestImage
            $before = Get-IvolHash $path
            New-IntegrityVolume -Path $path -Force -WhatIf
            Get-IvolHash $path | Should -Be $before
        }

        It 'still reports invalid parameters' {
            $e = { New-IntegrityVolume -Path (Join-Path $TestDrive 'w.img') -Size 8MB -Algorithm md5 -WhatIf -ErrorAction SilentlyContinue } | Should -Throw -PassThru
            $e.FullyQualifiedErrorId | Should -Be "UnknownAlgorithm,$fqid"
        }
    }

    Context 'Errors' {
        It 'says which folder is missing, in its own words (issue 13, defect 5)' {
            $path = Join-Path $TestDrive 'no-such-folder' 'x.img'
            New-IntegrityVolume -Path $path -Size 1MB -Confirm:$false -ErrorAction SilentlyContinue -ErrorVariable err
            $err[0].FullyQualifiedErrorId | Should -Be "DeviceNotFound,$fqid"
            $err[0].Exception.Message | Should -BeLike "*the folder $(Join-Path $TestDrive 'no-such-folder') does not exist*"
            $err[0].Exception.Message | Should -Not -BeLike '*Could not find a part of the path*'
        }

        It 'reports a folder it may not write to without .NET''s raw message' -Skip:(-not $IsLinux) {
            New-IntegrityVolume -Path /sys/ivol-test.img -Size 1MB -Confirm:$false -ErrorAction SilentlyContinue -ErrorVariable err
            $err[0].FullyQualifiedErrorId | Should -Be "DeviceAccessDenied,$fqid"
            $err[0].Exception.Message | Should -Be '/sys/ivol-test.img: permission denied (the file system or its permissions refuse access).'
        }

        It 'refuses an existing file when -Size is given without -Force (FileExists), leaving it unchanged' {
            $path = New-IvolTestImage
            $before = Get-IvolHash $path
            New-IntegrityVolume -Path $path -Size 8MB -Confirm:$false -ErrorAction SilentlyContinue -ErrorVariable err
            $err.Count | Should -Be 1
            $err[0].FullyQualifiedErrorId | Should -Be "FileExists,$fqid"
            $err[0].CategoryInfo.Category | Should -Be 'ResourceExists'
            $err[0].TargetObject | Should -Be $path
            Get-IvolHash $path | Should -Be $before
        }

        It 'refuses to overwrite an existing volume without -Force (ExistingSignature) and formats it with -Force' {
            $path = New-IvolTestImage
            { New-IntegrityVolume -Path $path -Confirm:$false -ErrorAction Stop } | Should -Throw -ErrorId "ExistingSignature,$fqid"
            $old = (Get-IntegrityVolume -Path $path).Salt
            New-IntegrityVolume -Path $path -Force -Confirm:$false
            (Get-IntegrityVolume -Path $path).Salt | Should -Not -Be $old
        }

        It 'reports a missing device without -Size as DeviceNotFound' {
            { New-IntegrityVolume -Path (Join-Path $TestDrive 'absent.img') -Confirm:$false -ErrorAction Stop } |
                Should -Throw -ErrorId "DeviceNotFound,$fqid"
        }

        It 'rejects a size that is too small (InvalidSize)' {
            { New-IntegrityVolume -Path (Join-Path $TestDrive 'tiny.img') -Size 4KB -Confirm:$false -ErrorAction Stop } |
                Should -Throw -ErrorId "InvalidSize,$fqid"
        }

        It 'needs a key for keyed algorithms (KeyRequired)' {
            { New-IntegrityVolume -Path (Join-Path $TestDrive 'k.img') -Size 8MB -Algorithm hmac-sha256 -Confirm:$false -ErrorAction Stop } |
                Should -Throw -ErrorId "KeyRequired,$fqid"
        }

        It 'refuses a key file larger than 4096 bytes (KeyFileInvalid)' {
            $key = New-IvolRandomFile -Name 'big.key' -Length 4097
            { New-IntegrityVolume -Path (Join-Path $TestDrive 'k2.img') -Size 8MB -Algorithm hmac-sha256 -KeyFile $key -Confirm:$false -ErrorAction Stop } |
                Should -Throw -ErrorId "KeyFileInvalid,$fqid"
        }

        It 'needs -JournalIntegrity with -JournalIntegrityKeyFile (InvalidParameter)' {
            $key = New-IvolRandomFile -Name 'j.key' -Length 32
            { New-IntegrityVolume -Path (Join-Path $TestDrive 'j.img') -Size 8MB -JournalIntegrityKeyFile $key -Confirm:$false -ErrorAction Stop } |
                Should -Throw -ErrorId "InvalidParameter,$fqid"
        }

        It 'refuses paths on other providers (PathNotFileSystem)' {
            { New-IntegrityVolume -Path 'Env:\IVOL' -Size 8MB -Confirm:$false -ErrorAction Stop } |
                Should -Throw -ErrorId "PathNotFileSystem,$fqid"
        }

        It 'does not create the file when a parameter is invalid' {
            $path = Join-Path $TestDrive 'failed.img'
            New-IntegrityVolume -Path $path -Size 8MB -TagSize 65535 -Confirm:$false -ErrorAction SilentlyContinue
            Test-Path -LiteralPath $path | Should -BeFalse
        }
    }

    Context 'Output' {
        It 'round-trips through ConvertTo-Json' {
            $v = New-IntegrityVolume -Path (Join-Path $TestDrive 'json.img') -Size 8MB -Confirm:$false -PassThru
            $j = $v | ConvertTo-Json -Depth 3 | ConvertFrom-Json
            $j.Path | Should -Be $v.Path
            $j.ProvidedDataSectors | Should -Be $v.ProvidedDataSectors
            $j.Flags | Should -Be $v.Flags
            $j.Salt | Should -Be $v.Salt
        }
    }
}

Describe 'New-IntegrityVolume volumes open in the kernel' -Tag 'Acceptance', 'RequireRoot' -Skip:(-not $canRunAcceptance) {
    BeforeAll {
        $path = Join-Path $TestDrive 'kernel.img'
        New-IntegrityVolume -Path $path -Size 64MB -Confirm:$false
        $loop = losetup --find --show $path
        $name = "ivol-pester-$([guid]::NewGuid().ToString('n').Substring(0, 8))"
    }
    AfterAll {
        if ($name -and (Test-Path "/dev/mapper/$name")) { integritysetup close $name }
        if ($loop) { losetup -d $loop }
    }

    It 'is accepted by integritysetup and reads back as zeros without integrity errors' {
        integritysetup open $loop $name --integrity crc32c
        $LASTEXITCODE | Should -Be 0
        $size = (Get-IntegrityVolume -Path $path).ProvidedBytes
        $zeros = [Convert]::ToHexString([Security.Cryptography.SHA256]::HashData([byte[]]::new($size)))
        (Get-FileHash -LiteralPath "/dev/mapper/$name" -Algorithm SHA256).Hash | Should -Be $zeros
        (dmsetup status $name) -split ' ' | Select-Object -Index 3 | Should -Be '0'   # mismatch counter
    }
}
