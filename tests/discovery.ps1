# Dot-sourced by every Pester file in BeforeDiscovery (and by common.ps1): what this machine can run.
# The root-only tests tagged 'Acceptance' need Linux, root, a device-mapper that answers, loop devices and the
# reference tools. A /dev/mapper/control node alone proves nothing (a container's /dev, a kernel without dm-mod):
# the driver is asked for its version the way libdevmapper does (dmsetup version; DM_DEV_DIR honoured).

function Get-IvolDeviceMapperState {
    # Works: the driver answered the version handshake. Missing: the module will report DeviceMapperUnavailable
    # (no driver, or root and the control node does not answer) - not NotRoot. Reason: why it does not work.
    $control = Join-Path ($env:DM_DEV_DIR ?? '/dev') 'mapper' 'control'
    $state = { param($Works, $Missing, $Reason) [pscustomobject]@{ Works = $Works; Missing = $Missing; Reason = $Reason } }
    if (-not $IsLinux) { return & $state $false $true 'device-mapper exists only on Linux' }
    $root = (id -u) -eq 0
    $node = Test-Path -LiteralPath $control
    # A registered misc device is the driver itself (dm-mod loaded); the control node is only its door.
    if (-not (Test-Path -LiteralPath /sys/class/misc/device-mapper)) {
        $why = "the kernel has no device-mapper driver (no /sys/class/misc/device-mapper)"
        if ($node) { $why += "; $control exists but nothing answers behind it" }
        return & $state $false (-not $node -or $root) $why
    }
    if (-not $root) { return & $state $false $false 'device-mapper needs root' }
    if (-not (Get-Command dmsetup -ErrorAction SilentlyContinue)) {
        return & $state $false $false 'dmsetup (the independent witness) is not installed'
    }
    $out = @(dmsetup version 2>&1) -join ' '
    if ($LASTEXITCODE -eq 0 -and $out -match 'Driver version') { return & $state $true $false '' }
    & $state $false $true "$control does not answer the device-mapper version handshake ($out)"
}

function Test-IvolAcceptance {
    (Get-IvolAcceptanceSkipReason) -eq ''
}

function Get-IvolAcceptanceSkipReason {
    # '' when the Acceptance tests can run here, otherwise why not.
    $dm = Get-IvolDeviceMapperState
    if (-not $dm.Works) { return $dm.Reason }
    if (-not (Test-Path /dev/loop-control)) { return 'no /dev/loop-control (loop devices)' }
    $missing = @('integritysetup', 'losetup', 'dmsetup').Where({ -not (Get-Command $_ -ErrorAction SilentlyContinue) })
    if ($missing) { return "missing reference tools: $($missing -join ', ')" }
    ''
}

$ivolDeviceMapper = Get-IvolDeviceMapperState
$acceptanceSkipReason = Get-IvolAcceptanceSkipReason
$canRunAcceptance = $acceptanceSkipReason -eq ''
# "Without device-mapper" tests run where the module must say DeviceMapperUnavailable; they skip elsewhere.
$hasDeviceMapper = -not $ivolDeviceMapper.Missing
if (-not $canRunAcceptance -and -not (Get-Variable -Scope Global -Name IvolSkipReasonShown -ErrorAction Ignore)) {
    # Pester 5 has no reason on -Skip: say it once per run.
    $global:IvolSkipReasonShown = $true
    Write-Host "Acceptance tests (root, device-mapper, loop devices) are skipped here: $acceptanceSkipReason"
}
