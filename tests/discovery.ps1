# Dot-sourced by every Pester file in BeforeDiscovery (and by common.ps1): what this machine can run.
# The root-only tests tagged 'Acceptance' need Linux, root, device-mapper, loop devices and the reference tools.

function Test-IvolAcceptance {
    $IsLinux -and ((id -u) -eq 0) -and (Test-Path /dev/mapper/control) -and (Test-Path /dev/loop-control) -and
        @('integritysetup', 'losetup', 'dmsetup').Where({ -not (Get-Command $_ -ErrorAction SilentlyContinue) }).Count -eq 0
}

$canRunAcceptance = Test-IvolAcceptance
$hasDeviceMapper = Test-Path /dev/mapper/control
