# Shared setup for the IntegrityVolume Pester 5 suite. Dot-source it in BeforeAll:
#     BeforeAll { . $PSScriptRoot/common.ps1 }
#
# Imports the PACKAGED module (./build.ps1 -Task Package → out/IntegrityVolume/<version>/), never the source tree:
# a binary module cannot be unloaded, so build.ps1 runs Pester in a fresh pwsh. IVOL_MODULE_MANIFEST overrides the path.
#
# Tests needing root, loop devices and device-mapper are tagged 'Acceptance' and gated in BeforeDiscovery by
# discovery.ps1 (Test-IvolAcceptance); build.ps1 excludes the tag unless -Acceptance is given.
# Plain (not $script:) variables: dot-sourced in BeforeAll they land in the scope the It blocks see.

$IvolManifest = if ($env:IVOL_MODULE_MANIFEST) {
    $env:IVOL_MODULE_MANIFEST
}
else {
    $version = (Import-PowerShellDataFile -LiteralPath (Join-Path $PSScriptRoot '..' 'IntegrityVolume.psd1')).ModuleVersion
    Join-Path $PSScriptRoot '..' 'out' 'IntegrityVolume' $version 'IntegrityVolume.psd1'
}
if (-not (Test-Path -LiteralPath $IvolManifest)) {
    throw "Packaged module not found at $IvolManifest; run ./build.ps1 -Task Package first."
}
Import-Module -Name $IvolManifest -Force

# FullyQualifiedErrorId suffixes: "<ErrorId>,<cmdlet class>".
$IvolFqid = @{
    New   = 'IntegrityVolume.Commands.NewIntegrityVolumeCommand'
    Get   = 'IntegrityVolume.Commands.GetIntegrityVolumeCommand'
    Test  = 'IntegrityVolume.Commands.TestIntegrityVolumeCommand'
    Write = 'IntegrityVolume.Commands.WriteIntegrityVolumeDataCommand'
    Resize = 'IntegrityVolume.Commands.ResizeIntegrityVolumeCommand'
}

. $PSScriptRoot/discovery.ps1   # Test-IvolAcceptance

function Test-IvolMapping([string] $Name) {
    # Is a device-mapper device of that name active (dmsetup as the independent witness)?
    dmsetup info $Name *> $null
    $LASTEXITCODE -eq 0
}

function Remove-IvolTestMapping {
    # Leaves nothing behind even when a test fails half-way: the mapping, then the loop devices over the image.
    param([string] $Name, [string] $Image)
    if (Test-IvolMapping $Name) { dmsetup remove --force $Name *> $null }
    if ($Image) {
        foreach ($line in @(losetup -j $Image)) { if ($line -match '^(/dev/loop\d+):') { losetup -d $Matches[1] } }
    }
}

function New-IvolTestArray {
    # md RAID1 (mdadm, --assume-clean) over two fresh integrity volumes opened by the module; returns Md (/dev/md/NAME),
    # Id, Names (the legs' mapper names) and Images. Pair with Remove-IvolTestArray in AfterAll.
    # $Options (e.g. Algorithm and KeyFile) go to the legs' New- and Open-IntegrityVolume.
    param([string] $Prefix = 'ivarr', [long] $Size = 16MB, [hashtable] $Options = @{})
    $id = [guid]::NewGuid().ToString('n').Substring(0, 6)
    $names = "${Prefix}0$id", "${Prefix}1$id"
    $images = foreach ($n in $names) { New-IvolTestImage -Name "$n.img" -Size $Size -Options $Options }
    for ($i = 0; $i -lt 2; $i++) { $null = Open-IntegrityVolume -Path $images[$i] -Name $names[$i] -Confirm:$false @Options }
    modprobe raid1 2>$null
    $md = "/dev/md/$Prefix$id"
    mdadm --create $md --run --quiet --level=1 --raid-devices=2 --metadata=1.2 --assume-clean "/dev/mapper/$($names[0])" "/dev/mapper/$($names[1])"
    if ($LASTEXITCODE -ne 0) { throw "mdadm --create $md failed ($LASTEXITCODE)" }
    [pscustomobject]@{ Md = $md; Id = $id; Names = $names; Images = $images }
}

function Remove-IvolTestArray {
    # Stops the array and removes its legs' mappings and loop devices (also the extra legs a test added).
    param($Array, [string[]] $ExtraNames = @(), [string[]] $ExtraImages = @())
    if (-not $Array) { return }
    mdadm --stop $Array.Md *> $null
    $names = @($Array.Names) + $ExtraNames
    $images = @($Array.Images) + $ExtraImages
    for ($i = 0; $i -lt $names.Count; $i++) { Remove-IvolTestMapping -Name $names[$i] -Image $(if ($i -lt $images.Count) { $images[$i] }) }
}

function New-IvolTestImage {
    # Formats a fresh image in $TestDrive and returns its full path.
    param(
        [string] $Name = "vol-$([guid]::NewGuid().ToString('n')).img",
        [long] $Size = 8MB,
        [hashtable] $Options = @{}
    )
    $path = Join-Path $TestDrive $Name
    New-IntegrityVolume -Path $path -Size $Size -Confirm:$false @Options
    $path
}

function New-IvolRandomFile {
    param([string] $Name, [int] $Length, [int] $Seed = 1)
    $bytes = [byte[]]::new($Length)
    [Random]::new($Seed).NextBytes($bytes)
    $path = Join-Path $TestDrive $Name
    [IO.File]::WriteAllBytes($path, $bytes)
    $path
}

function Get-IvolHash([string] $Path) { (Get-FileHash -LiteralPath $Path -Algorithm SHA256).Hash }

function Get-IvolDataOffset {
    # Raw byte offset of logical sector $Sector (within the first interleave area) of an image volume:
    # data follows the first metadata run (dm-integrity get_data_sector).
    param([string] $Path, [uint64] $Sector = 0)
    $v = Get-IntegrityVolume -Path $Path
    [long](($v.ReservedSectors + $v.InitialSectors + $v.MetadataRunSectors + $Sector) * 512)
}

function Invoke-IvolFlipByte {
    # Corrupts one byte of a closed image in place.
    param([string] $Path, [long] $Offset)
    $fs = [IO.File]::Open($Path, 'Open', 'ReadWrite')
    try {
        $null = $fs.Seek($Offset, 'Begin')
        $b = $fs.ReadByte()
        $null = $fs.Seek($Offset, 'Begin')
        $fs.WriteByte($b -bxor 0xFF)
    }
    finally { $fs.Dispose() }
}
