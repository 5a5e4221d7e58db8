#
# Module manifest for IntegrityVolume.
# build.ps1 -Task Package copies this file into out/IntegrityVolume/<ModuleVersion>/; ModuleVersion must equal
# <Version> in Directory.Build.props (tests/IntegrityVolume.Tests/Module/ManifestTests.cs checks it).
#
@{
    RootModule           = 'IntegrityVolume.dll'
    ModuleVersion        = '0.1.0'
    CompatiblePSEditions = @('Core')
    GUID                 = '78ffee23-634e-4dba-8ca7-a97722ef0046'
    Author               = 'IntegrityVolume contributors'
    CompanyName          = 'IntegrityVolume contributors'
    Copyright            = '(c) IntegrityVolume contributors. MIT License.'
    Description          = 'Create, inspect, verify, fill, open and close Linux dm-integrity volumes from PowerShell, byte-compatible with the kernel and integritysetup. Works offline on block devices and image files, and on active volumes through device-mapper.'

    # net8.0 assembly: PowerShell 7.4 (LTS, .NET 8) and later.
    PowerShellVersion    = '7.4.2'

    # Loaded before the cmdlets, so the output types ([IntegrityVolume.Core.VerifyResult], ...) can be named right
    # after Import-Module (the CLR loads IntegrityVolume.Core.dll lazily otherwise: only when a cmdlet first runs).
    RequiredAssemblies   = @('IntegrityVolume.Core.dll')

    FormatsToProcess     = @('IntegrityVolume.format.ps1xml')
    TypesToProcess       = @()

    # Explicit lists only (no wildcards): command discovery and auto-loading read them without loading the dll.
    # ManifestTests fails when this list and the compiled cmdlet classes disagree.
    CmdletsToExport      = @(
        'Close-IntegrityArray'
        'Close-IntegrityVolume'
        'Get-IntegrityArray'
        'Get-IntegrityVolume'
        'New-IntegrityArray'
        'New-IntegrityVolume'
        'Open-IntegrityArray'
        'Open-IntegrityVolume'
        'Repair-IntegrityVolume'
        'Resize-IntegrityVolume'
        'Resolve-IntegrityVolumeSector'
        'Start-IntegrityArrayScrub'
        'Switch-IntegrityArrayLeg'
        'Test-IntegrityVolume'
        'Write-IntegrityVolumeData'
    )
    FunctionsToExport    = @()
    VariablesToExport    = @()
    AliasesToExport      = @()

    # Update-Help reads HelpInfo.xml from here; every cmdlet's HelpUri points at its page (Get-Help -Online).
    HelpInfoURI          = 'https://github.com/integrityvolume/integrityvolume/tree/main/en-US'

    PrivateData          = @{
        PSData = @{
            Tags         = @('dm-integrity', 'device-mapper', 'integritysetup', 'storage', 'Linux', 'PSEdition_Core')
            ProjectUri   = 'https://github.com/integrityvolume/integrityvolume/blob/main/README.md'
            LicenseUri   = 'https://github.com/integrityvolume/integrityvolume/blob/main/LICENSE'
            ReleaseNotes = @'
0.1.0 - first preview.
- New-IntegrityVolume: userspace format of devices and image files (superblock, journal, tags), kernel byte-compatible; -WhatIf -PassThru predicts the volume.
- Get-IntegrityVolume: superblock, layout and journal state of closed volumes.
- Test-IntegrityVolume: offline tag verification with mismatched sector ranges, -Quiet, -ThrottleLimit.
- Write-IntegrityVolumeData: fill a closed volume from a file, computing tags.
- Repair-IntegrityVolume: rewrite mismatched blocks from a copy (verified), re-tag given sectors, or zero the lost ones; pipes from Test-IntegrityVolume.
- Resolve-IntegrityVolumeSector: bad block -> file; names the file (path, byte offset), directory, metadata or free space of sector ranges on ext2/3/4 (debugfs) and xfs (xfs_db); pipes from Test-IntegrityVolume.
- Open-/Close-IntegrityVolume: activate and deactivate volumes through device-mapper (integritysetup open/close), loop devices for image files.
- Get-IntegrityVolume without -Path: the active dm-integrity mappings (integritysetup status).
- Test-IntegrityVolume -Name: online verification of an active volume through the kernel (O_DIRECT reads).
'@
        }
    }
}
