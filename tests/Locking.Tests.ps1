#Requires -Modules @{ ModuleName = 'Pester'; ModuleVersion = '5.5.0' }
# -Wait on every cmdlet that takes a volume's lock (issue 13): readers (Get, Test) take a shared flock, writers (New,
# Write-IntegrityVolumeData) an exclusive one. Another process holding the lock (here flock(1) from util-linux, the
# way a shell script or another ivol would) makes the cmdlet fail at once with DeviceInUse; with -Wait it proceeds
# when the holder lets go.

BeforeDiscovery { $script:noFlock = -not (Get-Command flock -CommandType Application -ErrorAction SilentlyContinue) }

BeforeAll {
    . $PSScriptRoot/common.ps1

    # Starts flock(1) holding an exclusive (or shared) lock on $Path for $Seconds; returns once the lock is held. The
    # holder touches $Released just before it lets go (the lock goes with the last of flock, sh and sleep to exit), so
    # whoever gets the lock afterwards finds that file.
    function Start-IvolLockHolder {
        param([string] $Path, [double] $Seconds = 2, [switch] $Shared)
        $ready = Join-Path $TestDrive "held-$([guid]::NewGuid().ToString('n'))"
        $mode = $Shared ? '--shared' : '--exclusive'
        $psi = [Diagnostics.ProcessStartInfo]::new((Get-Command flock -CommandType Application)[0].Source)
        $released = "$ready.released"
        foreach ($a in $mode, $Path, '--command', "touch '$ready'; sleep $Seconds; touch '$released'") { $psi.ArgumentList.Add($a) }
        $p = [Diagnostics.Process]::Start($psi)
        $p | Add-Member -NotePropertyName Released -NotePropertyValue $released
        $deadline = [DateTime]::UtcNow.AddSeconds(10)
        while (-not (Test-Path -LiteralPath $ready)) {
            if ([DateTime]::UtcNow -gt $deadline) { throw "flock did not take the lock on $Path within 10 s" }
            Start-Sleep -Milliseconds 20
        }
        $p
    }

    function Stop-IvolLockHolder($Holder) {
        if ($Holder -and -not $Holder.HasExited) { $Holder.Kill($true) }
    }

    $cases = @{
        Get  = { param($p, $w) Get-IntegrityVolume -Path $p -Wait:$w -ErrorAction Stop }
        Test = { param($p, $w) Test-IntegrityVolume -Path $p -Wait:$w -ErrorAction Stop }
        New  = { param($p, $w) New-IntegrityVolume -Path $p -Force -Confirm:$false -PassThru -Wait:$w -ErrorAction Stop }
    }
}

Describe 'Lock waiting (-Wait)' -Tag 'Unit' -Skip:$noFlock {
    It '<Name> has a -Wait switch' -TestCases @(
        @{ Name = 'Get-IntegrityVolume' }, @{ Name = 'Test-IntegrityVolume' }, @{ Name = 'New-IntegrityVolume' }, @{ Name = 'Write-IntegrityVolumeData' }
    ) {
        (Get-Command $Name).Parameters['Wait'].ParameterType | Should -Be ([switch])
    }

    It '<Cmdlet>-IntegrityVolume fails at once with DeviceInUse while another process holds the lock' -TestCases @(
        @{ Cmdlet = 'Get' }, @{ Cmdlet = 'Test' }, @{ Cmdlet = 'New' }
    ) {
        $img = New-IvolTestImage -Size 8MB
        $holder = Start-IvolLockHolder -Path $img -Seconds 30
        try {
            $sw = [Diagnostics.Stopwatch]::StartNew()
            { & $cases[$Cmdlet] $img $false } | Should -Throw -ErrorId "DeviceInUse,$($IvolFqid[$Cmdlet])"
            $sw.Elapsed.TotalSeconds | Should -BeLessThan 20
            Test-Path -LiteralPath $holder.Released | Should -BeFalse
        }
        finally { Stop-IvolLockHolder $holder }
    }

    It '<Cmdlet>-IntegrityVolume -Wait proceeds when the holder lets go' -TestCases @(
        @{ Cmdlet = 'Get' }, @{ Cmdlet = 'Test' }, @{ Cmdlet = 'New' }
    ) {
        $img = New-IvolTestImage -Size 8MB
        $holder = Start-IvolLockHolder -Path $img -Seconds 3
        try {
            $out = & $cases[$Cmdlet] $img $true
            # It returned only after the holder had let go, and did its work.
            Test-Path -LiteralPath $holder.Released | Should -BeTrue
            $out | Should -Not -BeNullOrEmpty
            $out.Path | Should -Be $img
            if ($Cmdlet -eq 'Test') { $out.Healthy | Should -BeTrue }
        }
        finally { Stop-IvolLockHolder $holder }
    }

    It 'New-IntegrityVolume -Wait stops on Ctrl+C while it waits for the lock, and writes nothing' {
        # Ctrl+C is PowerShell's Stop of the running pipeline (StopProcessing): run New -Wait in a second runspace of
        # this process and stop it once it has the image open and is waiting on the holder's lock.
        $img = New-IvolTestImage -Size 8MB
        $before = (Get-FileHash -LiteralPath $img).Hash
        $holder = Start-IvolLockHolder -Path $img -Seconds 600
        $ps = [powershell]::Create()
        try {
            $null = $ps.AddScript("Import-Module -Name '$IvolManifest'; New-IntegrityVolume -Path '$img' -Force -Confirm:`$false -Wait")
            $run = $ps.BeginInvoke()
            # State, not time: wait until this process holds an fd on the image (the cmdlet is at the lock).
            $deadline = [DateTime]::UtcNow.AddSeconds(300)
            while (-not (Get-ChildItem "/proc/$PID/fd" | Where-Object { $_.LinkTarget -eq $img })) {
                if ($run.IsCompleted) { throw "New-IntegrityVolume -Wait ended before waiting: $($ps.Streams.Error)" }
                if ([DateTime]::UtcNow -gt $deadline) { throw 'New-IntegrityVolume never opened the image' }
                Start-Sleep -Milliseconds 50
            }
            $stop = $ps.BeginStop($null, $null)
            # The limit only turns a hang (a wait that ignores Stop) into a failure.
            $stop.AsyncWaitHandle.WaitOne([TimeSpan]::FromSeconds(120)) | Should -BeTrue
            $ps.InvocationStateInfo.State | Should -Be 'Stopped'
            Test-Path -LiteralPath $holder.Released | Should -BeFalse
        }
        finally { Stop-IvolLockHolder $holder; $ps.Dispose() }
        (Get-FileHash -LiteralPath $img).Hash | Should -Be $before
    }

    It 'New-IntegrityVolume (exclusive) also waits for a reader: a shared holder' {
        $img = New-IvolTestImage -Size 8MB
        $holder = Start-IvolLockHolder -Path $img -Seconds 30 -Shared
        try {
            { & $cases.New $img $false } | Should -Throw -ErrorId "DeviceInUse,$($IvolFqid.New)"
        }
        finally { Stop-IvolLockHolder $holder }
        # Readers share: Test-IntegrityVolume runs beside a shared holder without -Wait.
        $holder = Start-IvolLockHolder -Path $img -Seconds 30 -Shared
        try { (Test-IntegrityVolume -Path $img -ErrorAction Stop).Healthy | Should -BeTrue }
        finally { Stop-IvolLockHolder $holder }
    }
}
