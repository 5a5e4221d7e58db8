#Requires -Modules @{ ModuleName = 'Pester'; ModuleVersion = '5.5.0' }

BeforeDiscovery { . $PSScriptRoot/discovery.ps1 }

BeforeAll {
    . $PSScriptRoot/common.ps1
    $fqid = $IvolFqid.Get
    $dir = Join-Path $TestDrive 'images'
    $null = New-Item -ItemType Directory -Path $dir
    $a = New-IvolTestImage -Name 'images/a.img'
    $b = New-IvolTestImage -Name 'images/b.img' -Options @{ SectorSize = 4096 }
    $bracket = New-IvolTestImage -Name 'images/c[1].img'
    $notVolume = Join-Path $dir 'zeros.bin'
    [IO.File]::WriteAllBytes($notVolume, [byte[]]::new(1MB))
}

Describe 'Get-IntegrityVolume' -Tag 'Unit' {
    Context 'Algorithm detection (issue 15)' {
        It 'names the algorithm of a sha256 volume, detected' {
            $sha = New-IvolTestImage -Name 'sha.img' -Options @{ Algorithm = 'sha256' }
            $v = Get-IntegrityVolume -Path $sha
            $v.Algorithm | Should -Be 'sha256'
            $v.AlgorithmSource | Should -Be 'Detected'
            $v.AlgorithmDetection.BlocksRead | Should -BeLessOrEqual 64
            # The detected algorithm binds by property name: the next cmdlet verifies with it.
            ($v | Test-IntegrityVolume).Healthy | Should -BeTrue
        }
    }

    Context 'Module (issue 13, defects 5 and 6)' {
        It 'output types can be named right after Import-Module, before any cmdlet ran' {
            $pwsh = Join-Path $PSHOME ($IsWindows ? 'pwsh.exe' : 'pwsh')
            $out = & $pwsh -NoProfile -NonInteractive -Command "Import-Module '$IvolManifest'; [IntegrityVolume.Core.VerifyResult].FullName; [IntegrityVolume.Core.VolumeInfo].FullName"
            $out | Should -Be @('IntegrityVolume.Core.VerifyResult', 'IntegrityVolume.Core.VolumeInfo')
        }

        It 'every cmdlet has a HelpUri (Get-Help -Online) and the manifest a HelpInfoURI (Update-Help)' {
            foreach ($c in Get-Command -Module IntegrityVolume) {
                $c.HelpUri | Should -BeLike "https://*/$($c.Name).md"
            }
            (Get-Module IntegrityVolume).HelpInfoUri | Should -BeLike 'https://*'
        }

        It 'reports a data device the volume does not have, or a missing one, as DataDeviceMismatch' {
            $data = Join-Path $TestDrive 'data-for-meta.img'
            [IO.File]::WriteAllBytes($data, [byte[]]::new(4MB))
            $meta = New-IvolTestImage -Name 'meta.img' -Size 1MB -Options @{ DataDevice = $data }
            (Get-IntegrityVolume -Path $meta -DataDevice $data).DataDevicePath | Should -Be $data
            { Get-IntegrityVolume -Path $meta -ErrorAction Stop } | Should -Throw -ErrorId "DataDeviceMismatch,$fqid"
            { Get-IntegrityVolume -Path $a -DataDevice $data -ErrorAction Stop } | Should -Throw -ErrorId "DataDeviceMismatch,$fqid"
        }
    }

    Context 'Binding' {
        It 'has a Path parameter set with Path at position 0 and pipeline binding by property name' {
            $cmd = Get-Command Get-IntegrityVolume
            # The Name set is the default so that a call without arguments lists the active volumes.
            $cmd.DefaultParameterSet | Should -Be 'Name'
            $p = $cmd.Parameters['Path']
            $p.Aliases | Should -Be @('DevicePath')
            $cmd.Parameters['LiteralPath'].Aliases | Should -Be @('PSPath', 'LP', 'FullName')
            $attr = $p.Attributes | Where-Object { $_ -is [System.Management.Automation.ParameterAttribute] }
            $attr.ParameterSetName | Should -Be 'Path'
            $attr.Position | Should -Be 0
            $attr.Mandatory | Should -BeTrue
            $attr.ValueFromPipelineByPropertyName | Should -BeTrue
            $cmd.OutputType.Name | Should -Be @('IntegrityVolume.Core.VolumeInfo', 'IntegrityVolume.Core.Kernel.IntegrityMappingInfo')
        }

        It 'binds a positional argument to -Path although the Name set is the default' {
            $v = Get-IntegrityVolume $a
            $v | Should -BeOfType IntegrityVolume.Core.VolumeInfo
            $v.Path | Should -Be $a
        }

        It 'reads one volume by path' {
            $v = Get-IntegrityVolume -Path $a
            $v | Should -BeOfType IntegrityVolume.Core.VolumeInfo
            $v.Path | Should -Be $a
            $v.DeviceBytes | Should -Be 8MB
            $v.JournalState | Should -Be 'Clean'
            $v.ProvidedBytes | Should -Be ($v.ProvidedDataSectors * 512)
        }

        It 'expands wildcards relative to the current location' {
            Push-Location -LiteralPath $dir
            try { $all = Get-IntegrityVolume -Path '*.img' }
            finally { Pop-Location }
            $all.Count | Should -Be 3
            $all.Path | Should -Contain $b
        }

        It 'uses a literal name that exists before expanding wildcards' {
            (Get-IntegrityVolume -Path $bracket).Path | Should -Be $bracket
        }

        It 'binds FileInfo objects to -LiteralPath, not their Name to -Name' {
            $v = Get-Item -LiteralPath $a | Get-IntegrityVolume
            $v | Should -BeOfType IntegrityVolume.Core.VolumeInfo
        }

        It 'binds FileInfo objects from Get-ChildItem (PSPath), including names with brackets' {
            $v = Get-ChildItem -LiteralPath $dir -Filter *.img | Get-IntegrityVolume
            $v.Count | Should -Be 3
            $v.Path | Should -Contain $bracket
        }

        It 'binds VolumeInfo objects (Path, DataDevicePath, ReservedSectors)' {
            $again = Get-IntegrityVolume -Path $b | Get-IntegrityVolume
            $again.Path | Should -Be $b
            $again.SectorSize | Should -Be 4096
        }

        It 'binds objects with a DevicePath property' {
            ([pscustomobject]@{ DevicePath = $a } | Get-IntegrityVolume).Path | Should -Be $a
        }
    }

    Context 'Errors' {
        It 'writes one non-terminating error per bad path and continues' {
            $out = Get-IntegrityVolume -Path $a, (Join-Path $dir 'missing.img'), $notVolume, $b -ErrorAction SilentlyContinue -ErrorVariable err
            $out.Count | Should -Be 2
            $err.Count | Should -Be 2
            $err[0].FullyQualifiedErrorId | Should -Be "DeviceNotFound,$fqid"
            $err[0].CategoryInfo.Category | Should -Be 'ObjectNotFound'
            $err[1].FullyQualifiedErrorId | Should -Be "SuperblockBadMagic,$fqid"
            $err[1].CategoryInfo.Category | Should -Be 'InvalidData'
            $err[1].TargetObject | Should -Be $notVolume
        }

        It 'reports a wildcard without matches as DeviceNotFound' {
            { Get-IntegrityVolume -Path (Join-Path $dir 'none*.img') -ErrorAction Stop } | Should -Throw -ErrorId "DeviceNotFound,$fqid"
        }

        It 'refuses a directory (InvalidParameter)' {
            { Get-IntegrityVolume -Path $dir -ErrorAction Stop } | Should -Throw -ErrorId "InvalidParameter,$fqid"
        }

        It 'refuses other providers (PathNotFileSystem)' {
            { Get-IntegrityVolume -Path 'Env:\PATH' -ErrorAction Stop } | Should -Throw -ErrorId "PathNotFileSystem,$fqid"
        }

        It 'rejects an empty path at binding time' {
            { Get-IntegrityVolume -Path '' } | Should -Throw -ErrorId "ParameterArgumentValidationError*,$fqid"
        }
    }

    Context 'Output' {
        It 'shows human-readable sizes and the whole path in the default table at 80 columns' {
            $text = Get-IntegrityVolume -Path $a | Out-String -Width 80
            $text | Should -Match 'MiB'
            $text | Should -Match '(?m)^\s*Size\s+Sector\s+Tag\s+Journal\s+Path'
            # 45 columns are left for Path: a longer one is cut at its end, so its first 40 characters always show.
            $text | Should -Match ([regex]::Escape($a.Substring(0, [Math]::Min($a.Length, 40))))
            $list = Get-IntegrityVolume -Path $a | Format-List | Out-String
            $list | Should -Match 'fix_padding, fix_hmac'
        }

        It 'has a list view with the layout' {
            $text = Get-IntegrityVolume -Path $a | Format-List | Out-String
            $text | Should -Match 'JournalSize'
            $text | Should -Match 'InterleaveSectors'
        }

        It 'round-trips through ConvertTo-Json' {
            $v = Get-IntegrityVolume -Path $b
            $j = $v | ConvertTo-Json -Depth 3 -EnumsAsStrings | ConvertFrom-Json
            $j.Path | Should -Be $v.Path
            $j.SectorSize | Should -Be 4096
            $j.ProvidedDataSectors | Should -Be $v.ProvidedDataSectors
            $j.JournalState | Should -Be 'Clean'
            $j.Flags | Should -Be $v.Flags
        }
    }
}

Describe 'Get-IntegrityVolume on kernel-formatted volumes' -Tag 'Acceptance', 'RequireRoot' -Skip:(-not $canRunAcceptance) {
    It 'reads what integritysetup format wrote, as integritysetup dump reports it' {
        $path = Join-Path $TestDrive 'kernel-format.img'
        truncate -s 32M $path
        $loop = losetup --find --show $path
        try {
            integritysetup format $loop --batch-mode --integrity crc32c --sector-size 4096 --no-wipe
            $LASTEXITCODE | Should -Be 0
            $dump = integritysetup dump $loop
        }
        finally { losetup -d $loop }
        $v = Get-IntegrityVolume -Path $path
        $dump | Should -Contain "provided_data_sectors $($v.ProvidedDataSectors)"
        $dump | Should -Contain "sector_size $($v.SectorSize)"
        $dump | Should -Contain "integrity_tag_size $($v.IntegrityTagSize)"
    }
}

Describe 'Get-IntegrityVolume for active volumes on a machine without device-mapper' -Tag 'Unit' -Skip:(Test-Path /dev/mapper/control) {
    It 'lists nothing and says why when called without arguments' {
        { Get-IntegrityVolume -ErrorAction Stop } | Should -Throw -ErrorId "DeviceMapperUnavailable,$fqid"
    }

    It 'treats piped strings as mapping names' {
        { 'data0' | Get-IntegrityVolume -ErrorAction Stop } | Should -Throw -ErrorId "DeviceMapperUnavailable,$fqid"
    }

    It 'completes mapping names without failing' {
        # No mapping names here; PowerShell then falls back to its own completion. The completer must not throw.
        { TabExpansion2 -inputScript 'Get-IntegrityVolume -Name d' -cursorColumn 'Get-IntegrityVolume -Name d'.Length } | Should -Not -Throw
    }
}

Describe 'Get-IntegrityVolume for active volumes' -Tag 'Acceptance', 'RequireRoot' -Skip:(-not $canRunAcceptance) {
    It 'lists an open volume, finds it by name and by wildcard, and completes its name' {
        $img = New-IvolTestImage -Size 16MB
        $name = "ivolget$([guid]::NewGuid().ToString('n').Substring(0, 8))"
        Open-IntegrityVolume -Path $img -Name $name -Confirm:$false
        try {
            (Get-IntegrityVolume).Name | Should -Contain $name
            $m = Get-IntegrityVolume -Name $name
            $m | Should -BeOfType IntegrityVolume.Core.Kernel.IntegrityMappingInfo
            $m.Failures | Should -Be 0
            (Get-IntegrityVolume -Name 'ivolget*').Name | Should -Contain $name
            $r = TabExpansion2 -inputScript "Get-IntegrityVolume -Name $($name.Substring(0, 10))" -cursorColumn ("Get-IntegrityVolume -Name $($name.Substring(0, 10))".Length)
            $r.CompletionMatches.CompletionText | Should -Contain $name
            { Get-IntegrityVolume -Name "$name-missing" -ErrorAction Stop } | Should -Throw -ErrorId "MapperDeviceNotFound,$fqid"
        }
        finally { Close-IntegrityVolume -Name $name -Confirm:$false -ErrorAction SilentlyContinue }
    }
}
