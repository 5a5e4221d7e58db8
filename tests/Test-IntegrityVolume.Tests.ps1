#Requires -Modules @{ ModuleName = 'Pester'; ModuleVersion = '5.5.0' }

BeforeDiscovery { . $PSScriptRoot/discovery.ps1 }

BeforeAll {
    . $PSScriptRoot/common.ps1
    $fqid = $IvolFqid.Test
    $dir = Join-Path $TestDrive 'vols'
    $null = New-Item -ItemType Directory -Path $dir
    $healthy = New-IvolTestImage -Name 'vols/healthy.img'
    $corrupt = New-IvolTestImage -Name 'vols/corrupt.img'
    # Corrupt one byte of logical sector 3 and one of sector 100.
    Invoke-IvolFlipByte -Path $corrupt -Offset ((Get-IvolDataOffset -Path $corrupt -Sector 3) + 17)
    Invoke-IvolFlipByte -Path $corrupt -Offset ((Get-IvolDataOffset -Path $corrupt -Sector 100) + 200)
    $key = New-IvolRandomFile -Name 'hmac.key' -Length 32
    $hmac = New-IvolTestImage -Name 'hmac.img' -Options @{ Algorithm = 'hmac-sha256'; KeyFile = $key }
}

Describe 'Test-IntegrityVolume' -Tag 'Unit' {
    Context 'Binding (issue 13, defect 2)' {
        It 'takes plain strings from the pipeline as -Path' {
            Push-Location $dir
            try { './healthy.img' | Test-IntegrityVolume -Quiet | Should -Be $true }
            finally { Pop-Location }
        }

        It 'has -LiteralPath with the aliases PSPath and LP, and takes names with wildcard characters literally' {
            $p = (Get-Command Test-IntegrityVolume).Parameters.LiteralPath
            $p.Aliases | Should -Contain 'PSPath'
            $p.Aliases | Should -Contain 'LP'
            $odd = Join-Path $TestDrive 'odd[1].img'
            Copy-Item -LiteralPath $healthy -Destination $odd
            (Test-IntegrityVolume -LiteralPath $odd).Path | Should -Be $odd
            (Test-IntegrityVolume -LP $odd -Quiet) | Should -Be $true
            { Test-IntegrityVolume -LiteralPath (Join-Path $dir '*.img') -ErrorAction Stop } |
                Should -Throw -ErrorId "DeviceNotFound,$fqid"
        }
    }

    Context 'Input-independent parameters are checked once (issue 13, defect 4)' {
        It 'stops on a bad -Algorithm before any input, instead of $false per volume' {
            $out = $null
            { $out = $healthy, $corrupt | Test-IntegrityVolume -Algorithm nope -Quiet } |
                Should -Throw -ErrorId "UnknownAlgorithm,$fqid"
            $out | Should -BeNullOrEmpty
        }

        It 'stops on a missing key file before any input' {
            { $healthy, $hmac | Test-IntegrityVolume -Algorithm hmac-sha256 -KeyFile (Join-Path $TestDrive 'no.key') -Quiet } |
                Should -Throw -ErrorId "KeyFileInvalid,$fqid"
        }

        It 'stops on a keyed algorithm without a key when nothing is piped' {
            { Test-IntegrityVolume -Path $hmac, $healthy -Algorithm hmac-sha256 -Quiet } |
                Should -Throw -ErrorId "KeyRequired,$fqid"
        }
    }

    Context 'Algorithm detection (issue 15)' {
        BeforeAll {
            $sha = New-IvolTestImage -Name 'sha.img' -Options @{ Algorithm = 'sha256'; SectorSize = 4096 }
        }

        It 'finds sha256 without -Algorithm and says it was detected' {
            $r = Test-IntegrityVolume -Path $sha -Verbose 4>&1
            $verbose = $r | Where-Object { $_ -is [System.Management.Automation.VerboseRecord] }
            $result = $r | Where-Object { $_ -is [IntegrityVolume.Core.VerifyResult] }
            $result.Algorithm | Should -Be 'sha256'
            $result.AlgorithmSource | Should -Be 'Detected'
            $result.Healthy | Should -BeTrue
            $result.AlgorithmDetection.Outcome | Should -Be 'Detected'
            $result.AlgorithmDetection.SampledBlocks | Should -BeLessOrEqual 64
            ($result.AlgorithmDetection.Candidates | Where-Object Algorithm -EQ 'sha256').Matched | Should -Be $result.AlgorithmDetection.SampledBlocks
            ($verbose.Message -join "`n") | Should -Match 'sha256 detected'
        }

        It 'keeps a given -Algorithm as given' {
            $r = Test-IntegrityVolume -Path $sha -Algorithm sha256
            $r.AlgorithmSource | Should -Be 'Given'
            $r.AlgorithmDetection | Should -BeNullOrEmpty
        }

        It 'says a key is needed for a keyed volume, and detects it with -KeyFile' {
            { Test-IntegrityVolume -Path $hmac -ErrorAction Stop } | Should -Throw -ErrorId "KeyRequired,$fqid" -ExpectedMessage '*keyed: a key is needed*'
            $r = Test-IntegrityVolume -Path $hmac -KeyFile $key
            $r.AlgorithmSource | Should -Be 'Detected'
            $r.Healthy | Should -BeTrue
        }
    }

    Context 'Results' {
        It 'reports a healthy volume' {
            $r = Test-IntegrityVolume -Path $healthy
            $r | Should -BeOfType IntegrityVolume.Core.VerifyResult
            $r.Healthy | Should -BeTrue
            $r.MismatchedBlocks | Should -Be 0
            $r.BlocksChecked | Should -Be $r.ValidBlocks
            $r.Algorithm | Should -Be 'crc32c'
            $r.MismatchedSectors | Should -BeNullOrEmpty
        }

        It 'reports the mismatching sectors as the kernel numbers them' {
            $r = Test-IntegrityVolume -Path $corrupt
            $r.Healthy | Should -BeFalse
            $r.MismatchedBlocks | Should -Be 2
            $r.MismatchedSectors.Start | Should -Be @(3, 100)
            $r.MismatchedSectors.Sectors | Should -Be @(1, 1)
        }

        It 'shows the verdict first and keeps the path in the default table at 80 columns' {
            $text = Test-IntegrityVolume -Path $corrupt, $healthy | Out-String -Width 80
            $text | Should -Match '(?m)^Verdict\s+Mismatched\s+Checked\s+Size\s+Algorithm\s+Path'
            $text | Should -Match 'Corrupt'
            $text | Should -Match 'Healthy'
            $list = Test-IntegrityVolume -Path $corrupt | Format-List | Out-String -Width 80
            $list | Should -Match 'MismatchedSectors\s+:\s+3, 100'
            $list | Should -Match 'sectors of 512 bytes, 512-byte blocks'
        }

        It 'verifies keyed volumes with the key file' {
            (Test-IntegrityVolume -Path $hmac -Algorithm hmac-sha256 -KeyFile $key).Healthy | Should -BeTrue
        }

        It 'warns when no block matches (wrong algorithm)' {
            $r = Test-IntegrityVolume -Path $healthy -Algorithm xxhash64 -WarningVariable warn -WarningAction SilentlyContinue
            $r.Healthy | Should -BeFalse
            $r.ValidBlocks | Should -Be 0
            $warn.Count | Should -BeGreaterThan 0
            $warn[0].Message | Should -BeLike "$healthy*"
        }

        It 'writes the summary to the verbose stream' {
            $verbose = Test-IntegrityVolume -Path $healthy -Verbose 4>&1 | Where-Object { $_ -is [System.Management.Automation.VerboseRecord] }
            ($verbose.Message -join "`n") | Should -Match 'blocks checked, 0 mismatched'
        }

        It 'accepts -ThrottleLimit' {
            (Test-IntegrityVolume -Path $healthy -ThrottleLimit 1).Healthy | Should -BeTrue
            { Test-IntegrityVolume -Path $healthy -ThrottleLimit -1 } | Should -Throw -ErrorId "ParameterArgumentValidationError,$fqid"
        }
    }

    Context '-Quiet' {
        It 'returns one boolean per volume' {
            Test-IntegrityVolume -Path $healthy -Quiet | Should -BeExactly $true
            Test-IntegrityVolume -Path $corrupt -Quiet | Should -BeExactly $false
            $both = Test-IntegrityVolume -Path $healthy, $corrupt -Quiet
            $both | Should -Be @($true, $false)
        }

        It 'returns $false, and still writes the error, for a volume that cannot be checked' {
            $r = Test-IntegrityVolume -Path (Join-Path $dir 'missing.img') -Quiet -ErrorAction SilentlyContinue -ErrorVariable err
            $r | Should -BeExactly $false
            $err[0].FullyQualifiedErrorId | Should -Be "DeviceNotFound,$fqid"
        }

        It 'works in a condition' {
            $ok = if (Test-IntegrityVolume -Path $healthy -Quiet) { 'yes' } else { 'no' }
            $ok | Should -Be 'yes'
        }
    }

    Context 'Pipeline' {
        It 'binds Get-ChildItem output' {
            $r = Get-ChildItem -LiteralPath $dir -Filter *.img | Test-IntegrityVolume
            $r.Count | Should -Be 2
            ($r | Where-Object Healthy).Path | Should -Be $healthy
        }

        It 'binds Get-IntegrityVolume output' {
            $r = Get-IntegrityVolume -Path $corrupt | Test-IntegrityVolume
            $r.Path | Should -Be $corrupt
            $r.Healthy | Should -BeFalse
        }

        It 'binds Algorithm and KeyFile by property name (Import-Csv style input)' {
            $r = [pscustomobject]@{ Path = $hmac; Algorithm = 'hmac-sha256'; KeyFile = $key } | Test-IntegrityVolume
            $r.Healthy | Should -BeTrue
            $r.Algorithm | Should -Be 'hmac(sha256)'
        }

        It 'expands wildcards' {
            (Test-IntegrityVolume -Path (Join-Path $dir '*.img') -Quiet).Count | Should -Be 2
        }
    }

    Context 'Errors' {
        It 'needs the key of a keyed volume (KeyRequired)' {
            { Test-IntegrityVolume -Path $hmac -Algorithm hmac-sha256 -ErrorAction Stop } | Should -Throw -ErrorId "KeyRequired,$fqid"
        }

        It 'refuses a key for an unkeyed algorithm (KeyNotAllowed)' {
            { Test-IntegrityVolume -Path $healthy -KeyFile $key -ErrorAction Stop } | Should -Throw -ErrorId "KeyNotAllowed,$fqid"
        }

        It 'reports an unknown algorithm (UnknownAlgorithm), as a terminating error' {
            $e = { Test-IntegrityVolume -Path $healthy -Algorithm md5 -ErrorAction SilentlyContinue } | Should -Throw -PassThru
            $e.FullyQualifiedErrorId | Should -Be "UnknownAlgorithm,$fqid"
            $e.CategoryInfo.Category | Should -Be 'InvalidArgument'
        }

        It 'reports a missing key file (KeyFileInvalid)' {
            { Test-IntegrityVolume -Path $hmac -Algorithm hmac-sha256 -KeyFile (Join-Path $TestDrive 'nokey') -ErrorAction Stop } |
                Should -Throw -ErrorId "KeyFileInvalid,$fqid"
        }

        It 'authenticates the superblock with -JournalIntegrity (SuperblockMacMismatch on a wrong key)' {
            $jkey = New-IvolRandomFile -Name 'journal.key' -Length 32 -Seed 3
            $wrong = New-IvolRandomFile -Name 'wrong-journal.key' -Length 32 -Seed 4
            $vol = New-IvolTestImage -Options @{ JournalIntegrity = 'hmac-sha256'; JournalIntegrityKeyFile = $jkey }
            (Test-IntegrityVolume -Path $vol -JournalIntegrity hmac-sha256 -JournalIntegrityKeyFile $jkey).Healthy | Should -BeTrue
            { Test-IntegrityVolume -Path $vol -JournalIntegrity hmac-sha256 -JournalIntegrityKeyFile $wrong -ErrorAction Stop } |
                Should -Throw -ErrorId "SuperblockMacMismatch,$fqid"
        }

        It 'continues with the next volume after an error' {
            $r = Test-IntegrityVolume -Path (Join-Path $dir 'missing.img'), $healthy -ErrorAction SilentlyContinue
            $r.Path | Should -Be $healthy
        }
    }

    Context 'Output' {
        It 'round-trips through ConvertTo-Json with the mismatched ranges' {
            $r = Test-IntegrityVolume -Path $corrupt
            $j = $r | ConvertTo-Json -Depth 3 -EnumsAsStrings | ConvertFrom-Json
            $j.Healthy | Should -BeFalse
            $j.MismatchedBlocks | Should -Be 2
            $j.MismatchedSectors[0].Start | Should -Be 3
            $j.MismatchedSectors[1].Start | Should -Be 100
            $j.JournalState | Should -Be 'Clean'
        }
    }
}

Describe 'Test-IntegrityVolume agrees with the kernel' -Tag 'Acceptance', 'RequireRoot' -Skip:(-not $canRunAcceptance) {
    BeforeAll {
        $path = Join-Path $TestDrive 'kernel.img'
        New-IntegrityVolume -Path $path -Size 64MB -Confirm:$false
        $name = "ivol-pester-$([guid]::NewGuid().ToString('n').Substring(0, 8))"
    }

    It 'finds exactly the sectors the kernel refuses to read' {
        $loop = losetup --find --show $path
        try {
            integritysetup open $loop $name --integrity crc32c
            dd if=/dev/urandom of=/dev/mapper/$name bs=1M count=8 oflag=direct status=none
            integritysetup close $name
            (Test-IntegrityVolume -Path $path).Healthy | Should -BeTrue

            Invoke-IvolFlipByte -Path $path -Offset ((Get-IvolDataOffset -Path $path -Sector 4096) + 1)
            $r = Test-IntegrityVolume -Path $path
            $r.MismatchedSectors.Start | Should -Be @(4096)

            integritysetup open $loop $name --integrity crc32c
            dd if=/dev/mapper/$name of=/dev/null bs=512 skip=4096 count=1 iflag=direct status=none 2>$null
            $LASTEXITCODE | Should -Not -Be 0      # EILSEQ from the kernel
        }
        finally {
            if (Test-Path "/dev/mapper/$name") { integritysetup close $name }
            losetup -d $loop
        }
    }
}
