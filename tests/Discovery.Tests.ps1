#Requires -Modules Pester
# tests/discovery.ps1 decides which tests this machine can run: a device-mapper control node that does not answer
# must not count as device-mapper (the Acceptance tests would fail instead of skipping, the "Without device-mapper"
# tests would skip instead of running).

Describe 'Test discovery' {
    BeforeAll {
        $savedDevDir = $env:DM_DEV_DIR
        # A /dev whose mapper/control exists but is no device-mapper (as in a container or a kernel without dm-mod);
        # libdevmapper and discovery.ps1 take the control node from DM_DEV_DIR.
        $fakeDev = Join-Path $TestDrive 'dev'
        $null = New-Item -ItemType Directory -Path (Join-Path $fakeDev 'mapper')
        $null = New-Item -ItemType File -Path (Join-Path $fakeDev 'mapper' 'control')
    }
    AfterAll { $env:DM_DEV_DIR = $savedDevDir }

    It 'does not take a control node that does not answer for device-mapper' {
        $env:DM_DEV_DIR = $fakeDev
        . $PSScriptRoot/discovery.ps1
        $canRunAcceptance | Should -BeFalse
        $acceptanceSkipReason | Should -Not -BeNullOrEmpty
        $ivolDeviceMapper.Works | Should -BeFalse
    }

    It 'runs the "Without device-mapper" tests where the module will say DeviceMapperUnavailable' -Skip:(-not $IsLinux) {
        $env:DM_DEV_DIR = $fakeDev
        . $PSScriptRoot/discovery.ps1
        if ((id -u) -eq 0 -or -not (Test-Path /sys/class/misc/device-mapper)) {
            # root: the module opens the node and gets no handshake; no driver: nothing can answer.
            $hasDeviceMapper | Should -BeFalse
        }
        else {
            # not root with a driver: the module says NotRoot, not DeviceMapperUnavailable.
            $hasDeviceMapper | Should -BeTrue
        }
    }
}
