#Requires -Modules @{ ModuleName = 'Pester'; ModuleVersion = '5.5.0' }

BeforeDiscovery { . $PSScriptRoot/discovery.ps1 }

BeforeAll {
    . $PSScriptRoot/common.ps1
    $fqid = $IvolFqid.Resize
    $payload = New-IvolRandomFile -Name 'resize-payload.bin' -Length 300KB -Seed 11
    # Independent witness of the superblock: integritysetup dump, when the host has it.
    function Get-DumpProvided([string] $Path) {
        $line = integritysetup dump $Path 2>$null | Where-Object { $_ -like 'provided_data_sectors *' }
        if ($line) { [ulong]($line -split ' ')[1] } else { $null }
    }
    $haveIntegritysetup = [bool](Get-Command integritysetup -ErrorAction SilentlyContinue)
}

Describe 'Resize-IntegrityVolume' -Tag 'Unit' {
    Context 'Metadata' {
        It 'supports ShouldProcess and returns ResizeResult' {
            $meta = [System.Management.Automation.CommandMetadata]::new((Get-Command Resize-IntegrityVolume))
            $meta.SupportsShouldProcess | Should -BeTrue
            $meta.ConfirmImpact | Should -Be 'Medium'
            (Get-Command Resize-IntegrityVolume).OutputType.Name | Should -Be 'IntegrityVolume.Core.ResizeResult'
            (Get-Command Resize-IntegrityVolume).ParameterSets.Name | Sort-Object | Should -Be @('LiteralPath', 'Name', 'Path')
        }
    }

    Context 'Offline' {
        It '-WhatIf reports the grow and changes nothing' {
            $vol = New-IvolTestImage -Size 16MB
            $before = Get-FileHash -LiteralPath $vol
            # The "What if:" line goes to the host; the cmdlet returns nothing and writes nothing.
            $out = Resize-IntegrityVolume -Path $vol -Size 24MB -WhatIf
            $out | Should -BeNullOrEmpty
            (Get-Item -LiteralPath $vol).Length | Should -Be 16MB
            (Get-FileHash -LiteralPath $vol).Hash | Should -Be $before.Hash
        }

        It 'grows an image: the data stays, the volume is healthy, the superblock has the kernel''s size' {
            $vol = New-IvolTestImage -Size 16MB
            Write-IntegrityVolumeData -Path $vol -InputPath $payload -Confirm:$false | Out-Null
            $r = Resize-IntegrityVolume -Path $vol -Size 24MB -Confirm:$false
            $r | Should -BeOfType IntegrityVolume.Core.ResizeResult
            $r.Action | Should -Be 'grow'
            $r.NewProvidedDataSectors | Should -Be 48456   # the kernel's value for p01 grown to 24 MiB (fixture p16)
            (Get-Item -LiteralPath $vol).Length | Should -Be 24MB
            if ($haveIntegritysetup) { Get-DumpProvided $vol | Should -Be 48456 }
            $t = Test-IntegrityVolume -Path $vol
            $t.Healthy | Should -BeTrue
            $t.ProvidedDataSectors | Should -Be 48456
        }

        It 'refuses a shrink that would cut written blocks, with the cut sectors in the message' {
            $vol = New-IvolTestImage -Size 16MB
            Write-IntegrityVolumeData -Path $vol -InputPath $payload -Confirm:$false | Out-Null   # sectors 0-599
            $err = $null
            Resize-IntegrityVolume -Path $vol -SizeSectors 400 -Confirm:$false -ErrorVariable err -ErrorAction SilentlyContinue
            $err[0].FullyQualifiedErrorId | Should -Be "ResizeWouldCutData,$fqid"
            $err[0].Exception.Message | Should -Match '400-599'
            (Get-Item -LiteralPath $vol).Length | Should -Be 16MB
            $r = Resize-IntegrityVolume -Path $vol -SizeSectors 400 -Force
            $r.CutBlocks | Should -Be 200
            (Test-IntegrityVolume -Path $vol).Healthy | Should -BeTrue
        }
    }
}

Describe 'Resize-IntegrityVolume of active volumes through the kernel' -Tag 'Acceptance', 'RequireRoot' -Skip:(-not $canRunAcceptance) {
    BeforeEach {
        $name = "ivolrsz$([guid]::NewGuid().ToString('n').Substring(0, 8))"
        $vol = New-IvolTestImage -Size 16MB
        Write-IntegrityVolumeData -Path $vol -InputPath $payload -Confirm:$false | Out-Null   # sectors 0-599
        Open-IntegrityVolume -Path $vol -Name $name -Confirm:$false
    }

    AfterEach { Remove-IvolTestMapping -Name $name -Image $vol }

    It 'grows to its grown loop device: the kernel maps the size of the kernel''s own grow, the data stays' {
        $fs = [IO.File]::Open($vol, 'Open', 'ReadWrite')
        try { $fs.SetLength(24MB) } finally { $fs.Dispose() }
        $loop = (@(losetup -j $vol)[0] -split ':')[0]
        losetup -c $loop
        $r = Resize-IntegrityVolume -Name $name -Confirm:$false
        $r | Should -BeOfType IntegrityVolume.Core.ResizeResult
        $r.Action | Should -Be 'grow'
        $r.NewProvidedDataSectors | Should -Be 48456   # the kernel's value for this volume grown to 24 MiB (fixture p16)
        blockdev --getsz /dev/mapper/$name | Should -Be 48456
        (Test-IntegrityVolume -Name $name -Quiet -WarningAction SilentlyContinue) | Should -BeTrue
        Close-IntegrityVolume -Name $name -Confirm:$false
        $t = Test-IntegrityVolume -Path $vol
        $t.Healthy | Should -BeTrue
        $t.ProvidedDataSectors | Should -Be 48456
    }

    It 'refuses an online shrink that would cut written blocks; -Force cuts them' {
        Resize-IntegrityVolume -Name $name -SizeSectors 400 -Confirm:$false -ErrorVariable err -ErrorAction SilentlyContinue
        $err[0].FullyQualifiedErrorId | Should -Be "ResizeWouldCutData,$fqid"
        $err[0].Exception.Message | Should -Match '400-599'
        blockdev --getsz /dev/mapper/$name | Should -Not -Be 400
        $r = Resize-IntegrityVolume -Name $name -SizeSectors 400 -Force
        $r.CutBlocks | Should -Be 200
        blockdev --getsz /dev/mapper/$name | Should -Be 400
    }
}
