#Requires -Modules @{ ModuleName = 'Pester'; ModuleVersion = '5.5.0' }

BeforeDiscovery { . $PSScriptRoot/discovery.ps1 }

BeforeAll {
    . $PSScriptRoot/common.ps1
    $fqidNew = 'IntegrityVolume.Commands.NewIntegrityArrayCommand'
    function New-IvolZeroFile([string] $Name, [long] $Size = 8MB) {
        $path = Join-Path $TestDrive $Name
        $fs = [IO.File]::Create($path); $fs.SetLength($Size); $fs.Dispose()
        $path
    }
}

Describe 'New-IntegrityArray' -Tag 'Unit' {
    It 'supports ShouldProcess with high impact, takes -Force, returns MdArrayInfo' {
        $cmd = Get-Command New-IntegrityArray
        $cmd.Parameters.Keys | Should -Contain 'WhatIf'
        $cmd.Parameters.Keys | Should -Contain 'Force'
        $cmd.ImplementingType.GetCustomAttributes([System.Management.Automation.CmdletAttribute], $false)[0].ConfirmImpact | Should -Be 'High'
        $cmd.OutputType.Name | Should -Be 'IntegrityVolume.Core.Arrays.MdArrayInfo'
    }

    It '-WhatIf writes nothing: both devices stay byte-identical' {
        $a = New-IvolZeroFile 'wa.img'
        $b = New-IvolTestImage -Name 'wb.img'
        $before = (Get-IvolHash $a), (Get-IvolHash $b)
        # -Force: the formatted image would be overwritten; -WhatIf must still leave it alone.
        New-IntegrityArray wi $a, $b -Level 1 -Force -WhatIf -ErrorAction SilentlyContinue
        (Get-IvolHash $a), (Get-IvolHash $b) | Should -Be $before
        Test-Path /dev/md/wi | Should -BeFalse
    }

    It 'refuses a set with a device that holds an integrity superblock (ExistingSignature) and formats none of them' {
        $zero = New-IvolZeroFile 'z.img'
        $data = New-IvolTestImage -Name 'd.img'
        $before = (Get-IvolHash $zero), (Get-IvolHash $data)
        # The zero file comes first: a per-device check would have formatted it before meeting the second.
        { New-IntegrityArray refused $zero, $data -Level 1 -Confirm:$false -ErrorAction Stop } |
            Should -Throw -ErrorId "ExistingSignature,$fqidNew"
        (Get-IvolHash $zero), (Get-IvolHash $data) | Should -Be $before
    }

    It 'refuses too few devices for the level (ArrayCreateRefused) before touching any' {
        $a = New-IvolZeroFile 'r6a.img'; $b = New-IvolZeroFile 'r6b.img'
        { New-IntegrityArray r6 $a, $b -Level 6 -Confirm:$false -ErrorAction Stop } | Should -Throw -ErrorId "ArrayCreateRefused,$fqidNew"
        (Get-IvolHash $a) | Should -Be (Get-IvolHash $b)
    }
}

Describe 'New-IntegrityArray -Level 10 through the kernel' -Tag 'Acceptance', 'RequireRoot' -Skip:(-not $canRunAcceptance) {
    BeforeAll {
        modprobe raid10 2>$null
        $id = [guid]::NewGuid().ToString('n').Substring(0, 6)
        $name = "ivr10$id"; $md = "/dev/md/$name"
        $legNames = 0..3 | ForEach-Object { "$name-leg$_" }
        $images = 0..3 | ForEach-Object { Join-Path $TestDrive "$name$_.img" }
        $warnings = $null
        # The warning goes to the Warning stream (not the output): captured here, kept off the console.
        $created = New-IntegrityArray $name $images -Level 10 -Chunk 64 -Size 16MB -Confirm:$false -WarningVariable warnings -WarningAction SilentlyContinue
        # md's kernel name from mdadm's link, not from our result: sysfs is the witness below.
        $kname = Split-Path -Leaf (readlink -f $md)
        $sys = "/sys/block/$kname/md"
    }

    AfterAll { Remove-IvolTestArray ([pscustomobject]@{ Md = $md; Names = $legNames; Images = $images }) }

    It 'md runs raid10, near-2 (layout 258), 4 legs, 64 KiB chunks' {
        Get-Content "$sys/level" | Should -Be 'raid10'
        Get-Content "$sys/layout" | Should -Be '258'   # near_copies 2 | far_copies 1 << 8 (md raid10 layout word)
        Get-Content "$sys/raid_disks" | Should -Be '4'
        Get-Content "$sys/chunk_size" | Should -Be '65536'
        Get-Content "$sys/degraded" | Should -Be '0'
        $created | Should -BeOfType IntegrityVolume.Core.Arrays.MdArrayInfo
        $created.Level | Should -Be 'raid10'
        $created.Name | Should -Be $name
    }

    It 'its 4 legs are our integrity mappings, in_sync in slots 0-3' {
        $legs = foreach ($n in $legNames) {
            Test-IvolMapping $n | Should -BeTrue
            (dmsetup table $n) | Should -Match ' integrity '
            $dm = "dm-$((dmsetup info -c --noheadings -o minor $n).Trim())"
            '{0} {1}' -f (Get-Content "$sys/dev-$dm/slot"), (Get-Content "$sys/dev-$dm/state")
        }
        $legs | Should -Be @('0 in_sync', '1 in_sync', '2 in_sync', '3 in_sync')
        @(Get-ChildItem -Directory $sys -Filter 'dev-*').Count | Should -Be 4
        ($created.Legs.MapperName | Sort-Object) | Should -Be $legNames
    }

    It 'warns (Warning stream) that md fails a raid10 leg after max_read_errors corrected reads' {
        $warnings.Count | Should -Be 1
        $warnings[0].Message | Should -Match 'max_read_errors'
        $warnings[0].Message | Should -Match 'raid10'
    }

    It 'a pattern written to the array reads back' {
        $data = New-IvolRandomFile 'r10-data.bin' 1048576 10
        dd if=$data of=$md bs=64k oflag=direct conv=fsync status=none
        $LASTEXITCODE | Should -Be 0
        $back = Join-Path $TestDrive 'r10-back.bin'
        dd if=$md of=$back bs=64k count=16 iflag=direct status=none
        Get-IvolHash $back | Should -Be (Get-IvolHash $data)
    }

    It 'Close-IntegrityArray stops md and closes the 4 legs and their loop devices, leaving nothing' {
        $closed = Close-IntegrityArray $name -PassThru -Confirm:$false
        $closed.ClosedLegs | Should -Be $legNames
        Get-IntegrityArray | Where-Object Name -eq $name | Should -BeNullOrEmpty
        # md removes a stopped array from /proc/mdstat from a work queue: poll that state (the limit only ends a hang).
        $limit = [Diagnostics.Stopwatch]::StartNew()
        while ((Get-Content /proc/mdstat) -match "^$kname " -and $limit.Elapsed.TotalSeconds -lt 120) { Start-Sleep -Milliseconds 100 }
        Get-Content /proc/mdstat | Where-Object { $_ -match "^$kname " } | Should -BeNullOrEmpty
        foreach ($n in $legNames) { Test-IvolMapping $n | Should -BeFalse }
        foreach ($i in $images) { @(losetup -j $i) | Where-Object { $_ } | Should -BeNullOrEmpty }
    }
}
