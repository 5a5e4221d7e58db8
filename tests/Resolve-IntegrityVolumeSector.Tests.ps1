#Requires -Modules @{ ModuleName = 'Pester'; ModuleVersion = '5.5.0' }

BeforeDiscovery { . $PSScriptRoot/discovery.ps1 }

BeforeAll {
    . $PSScriptRoot/common.ps1
    $fqid = 'IntegrityVolume.Commands.ResolveIntegrityVolumeSectorCommand'
    $mkfs = @(Get-Command mkfs.ext4 -CommandType Application -ErrorAction SilentlyContinue)[0].Source
    if (-not $mkfs -and (Test-Path /usr/sbin/mkfs.ext4)) { $mkfs = '/usr/sbin/mkfs.ext4' }

    function Get-IvolBlockText([string] $Name, [int] $Index) {
        # 4096 characters (bytes) no other block holds: "<name:index>" repeated.
        (("<{0}:{1:D4}>" -f $Name, $Index) * 400).Substring(0, 4096)
    }

    function Find-IvolText([string] $Path, [string] $Text) {
        # Byte offset of $Text in the image, found by reading it (Latin-1: one character per byte); -1 when absent.
        [Text.Encoding]::Latin1.GetString([IO.File]::ReadAllBytes($Path)).IndexOf($Text, [StringComparison]::Ordinal)
    }

    if ($mkfs) {
        # An ext4 image populated without mounting (mkfs.ext4 -d), written into a fresh volume; one byte of the victim's
        # block 2, sector 1 flipped in the volume: Test-IntegrityVolume reports that logical sector, which is fs.img's.
        $src = Join-Path $TestDrive 'src'
        $null = New-Item -ItemType Directory -Path (Join-Path $src 'docs') -Force
        $victim = [IO.File]::Create((Join-Path $src 'docs' 'victim.bin'))
        try { foreach ($k in 0..5) { $b = [Text.Encoding]::ASCII.GetBytes((Get-IvolBlockText 'victim' $k)); $victim.Write($b, 0, 4096) } } finally { $victim.Dispose() }
        $fsImage = Join-Path $TestDrive 'fs.img'
        & $mkfs -q -F -b 4096 -d $src $fsImage 6M 2>&1 | Out-Null   # "too small for a journal": none needed
        if ($LASTEXITCODE -ne 0) { throw "mkfs.ext4 failed ($LASTEXITCODE)" }
        $blockOffset = Find-IvolText $fsImage (Get-IvolBlockText 'victim' 2)
        $badSector = [uint64]($blockOffset / 512 + 1)
        $vol = New-IvolTestImage -Name 'locate.img'
        $null = Write-IntegrityVolumeData -Path $vol -InputPath $fsImage -Confirm:$false
        Invoke-IvolFlipByte -Path $vol -Offset ((Get-IvolDataOffset -Path $vol -Sector $badSector) + 7)
    }
}

Describe 'Resolve-IntegrityVolumeSector' -Tag 'Unit' {
    BeforeEach {
        if (-not $mkfs) { Set-ItResult -Skipped -Because 'mkfs.ext4 (e2fsprogs) is not installed' }
    }

    It 'is read-only and returns BadBlockOwner (LegSectorPiece with -Leg)' {
        $meta = [System.Management.Automation.CommandMetadata]::new((Get-Command Resolve-IntegrityVolumeSector))
        $meta.SupportsShouldProcess | Should -BeFalse
        $declared = (Get-Command Resolve-IntegrityVolumeSector).ImplementingType.GetCustomAttributes([System.Management.Automation.OutputTypeAttribute], $false)
        $bySet = @{}
        foreach ($a in $declared) { foreach ($set in $a.ParameterSetName) { $bySet[$set] = $a.Type.Name } }
        $bySet['FileSystem'] | Should -Be 'IntegrityVolume.Core.FileSystems.BadBlockOwner'
        $bySet['Leg'] | Should -Be 'IntegrityVolume.Core.FileSystems.LegSectorPiece'
    }

    It 'names the file and byte offset of the sector Test-IntegrityVolume found, from the piped VerifyResult' {
        $blockOffset | Should -BeGreaterThan 0
        $result = Test-IntegrityVolume -Path $vol
        $result.Verdict | Should -Be 'Corrupt'
        "$($result.MismatchedSectors)" | Should -Be "$badSector"
        $owners = @($result | Resolve-IntegrityVolumeSector -FileSystemPath $fsImage)
        $owners.Count | Should -Be 1
        $owners[0] | Should -BeOfType ([IntegrityVolume.Core.FileSystems.BadBlockOwner])
        $owners[0].Kind | Should -Be 'File'
        $owners[0].Path | Should -Be '/docs/victim.bin'
        $owners[0].FileOffset | Should -Be (2 * 4096 + 512)
        $owners[0].Length | Should -Be 512
        $owners[0].FileSystem | Should -Be 'ext4'
        $owners[0].Block | Should -Be ($blockOffset / 4096)
    }

    It 'takes SectorRange objects and strings from the pipeline and resolves them in one call' {
        $owners = @('2', "$($badSector - 1)-$($badSector + 6)" | Resolve-IntegrityVolumeSector -FileSystemPath $fsImage)
        $owners.Count | Should -Be 2
        $owners[0].Kind | Should -Be 'Metadata'
        $owners[0].Path | Should -BeNullOrEmpty
        $owners[1].Kind | Should -Be 'File'
        $owners[1].FileOffset | Should -Be (2 * 4096)
        $owners[1].Length | Should -Be 4096
        $ranges = (Test-IntegrityVolume -Path $vol).MismatchedSectors
        (@($ranges | Resolve-IntegrityVolumeSector $fsImage)).Path | Should -Be '/docs/victim.bin'
    }

    It 'a healthy result resolves nothing and writes no error' {
        $clean = New-IvolTestImage -Name 'clean.img'
        $owners = @(Test-IntegrityVolume -Path $clean | Resolve-IntegrityVolumeSector -FileSystemPath $fsImage -ErrorVariable err)
        $owners.Count | Should -Be 0
        $err.Count | Should -Be 0
    }

    It 'refuses a device without a supported file system and a range beyond it with stable ids' {
        $zeros = Join-Path $TestDrive 'zeros.img'
        [IO.File]::WriteAllBytes($zeros, [byte[]]::new(1MB))
        $null = Resolve-IntegrityVolumeSector -FileSystemPath $zeros -Sector '8-15' -ErrorAction SilentlyContinue -ErrorVariable err
        $err[0].FullyQualifiedErrorId | Should -Be "FileSystemNotRecognized,$fqid"
        $null = Resolve-IntegrityVolumeSector -FileSystemPath $fsImage -Sector '12280-12300' -ErrorAction SilentlyContinue -ErrorVariable err2
        $err2[0].FullyQualifiedErrorId | Should -Be "OffsetOutOfRange,$fqid"
    }
}

Describe 'Resolve-IntegrityVolumeSector -Leg through md RAID1' -Tag 'Acceptance', 'RequireRoot' -Skip:(-not $canRunAcceptance) {
    BeforeAll {
        # ext4 (populated by mkfs.ext4 -d) on md RAID1 over two open volumes; victim block 2's array sector is found by
        # its text on /dev/mdX, and md's data offset on leg 0 comes from sysfs: the leg sector is their sum.
        $array = New-IvolTestArray -Prefix 'ivres'
        $mdKernel = (Get-Item $array.Md).ResolveLinkTarget($true).Name
        & $mkfs -q -F -b 4096 -E nodiscard -d $src "/dev/$mdKernel" 2>&1 | Out-Null
        $LASTEXITCODE | Should -Be 0
        sync
        $arraySector = [uint64]((Find-IvolText "/dev/$mdKernel" (Get-IvolBlockText 'victim' 2)) / 512 + 3)
        # The leg's kernel name from device-mapper itself (without udev /dev/mapper/NAME is a node, not a link to dm-N).
        $legKernel = 'dm-' + (dmsetup info -c --noheadings -o minor $array.Names[0]).Trim()
        $dataOffset = [uint64](Get-Content "/sys/block/$mdKernel/md/dev-$legKernel/offset")
        $legSector = $arraySector + $dataOffset
    }

    AfterAll { Remove-IvolTestArray $array }

    It 'names the file, the array sector and md from a leg sector' {
        $piece = Resolve-IntegrityVolumeSector -Leg $array.Names[0] -Sector "$legSector"
        $piece | Should -BeOfType IntegrityVolume.Core.FileSystems.LegSectorPiece
        $piece.Role | Should -Be 'Data'
        $piece.ArraySectors.Start | Should -Be $arraySector
        $piece.FileSystemSectors.Start | Should -Be $arraySector
        $piece.Owners.Path | Should -Be '/docs/victim.bin'
        $piece.Owners.FileOffset | Should -Be (2 * 4096 + 3 * 512)
        # md's own area before the data offset holds no file.
        (Resolve-IntegrityVolumeSector -Leg $array.Names[0] -Sector '8').Role | Should -Be 'MdMetadata'
    }

    It 'refuses a volume that is in no array with NotAnArrayMember' {
        $lone = New-IvolTestImage -Name 'lone.img'
        $name = "ivreslone$($array.Id)"
        $null = Open-IntegrityVolume -Path $lone -Name $name -Confirm:$false
        try {
            $null = Resolve-IntegrityVolumeSector -Leg $name -Sector '100' -ErrorAction SilentlyContinue -ErrorVariable err
            $err[0].FullyQualifiedErrorId | Should -Be "NotAnArrayMember,$fqid"
        }
        finally { Remove-IvolTestMapping -Name $name -Image $lone }
    }
}
