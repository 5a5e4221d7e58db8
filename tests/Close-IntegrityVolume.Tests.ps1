#Requires -Modules @{ ModuleName = 'Pester'; ModuleVersion = '5.5.0' }

BeforeDiscovery { . $PSScriptRoot/discovery.ps1 }

BeforeAll {
    . $PSScriptRoot/common.ps1
    $fqid = 'IntegrityVolume.Commands.CloseIntegrityVolumeCommand'

    function New-IvolMapperName { "ivolclose$([guid]::NewGuid().ToString('n').Substring(0, 8))" }
}

Describe 'Close-IntegrityVolume' -Tag 'Unit' {
    Context 'Binding' {
        It 'takes names at position 0 and by property name, and live objects by value' {
            $cmd = Get-Command Close-IntegrityVolume
            $cmd.DefaultParameterSet | Should -Be 'Name'
            $name = $cmd.Parameters['Name'].Attributes | Where-Object { $_ -is [System.Management.Automation.ParameterAttribute] }
            $name.Position | Should -Be 0
            $name.Mandatory | Should -BeTrue
            $name.ValueFromPipelineByPropertyName | Should -BeTrue
            $inputObject = $cmd.Parameters['InputObject']
            $inputObject.ParameterType.FullName | Should -Be 'IntegrityVolume.Core.Kernel.IntegrityMappingInfo[]'
            ($inputObject.Attributes | Where-Object { $_ -is [System.Management.Automation.ParameterAttribute] }).ValueFromPipeline | Should -BeTrue
            $cmd.OutputType.Name | Should -Be 'IntegrityVolume.Core.Kernel.IntegrityCloseResult'
            $cmd.Parameters.Keys | Should -Contain 'WhatIf'
        }

        It 'takes plain strings from the pipeline as -Name (issue 13, defect 2)' {
            { 'data0' | Close-IntegrityVolume -WhatIf -ErrorAction Stop } | Should -Not -Throw
            # The name reaches the cmdlet's own check (and nothing else binds it).
            'a/b' | Close-IntegrityVolume -WhatIf -ErrorAction SilentlyContinue -ErrorVariable err
            $err[0].TargetObject | Should -Be 'a/b'
        }

        It 'binds objects with a Name property' {
            { [pscustomobject]@{ Name = 'ivol-none' } | Close-IntegrityVolume -WhatIf -ErrorAction Stop } | Should -Not -Throw
        }

        It 'binds IntegrityMappingInfo objects to -InputObject, not their Path to anything' {
            $m = [IntegrityVolume.Core.Kernel.IntegrityMappingInfo]@{
                Name = 'ivol-none'; Type = 'INTEGRITY'; Path = '/dev/mapper/ivol-none'; DeviceNumber = '254:0'; SizeSectors = 8
                TagSize = 4; Mode = 'Journal'; SectorSize = 512; InterleaveSectors = 32768; Failures = 0; ProvidedDataSectors = 8
                Table = ''; Status = ''
            }
            { $m | Close-IntegrityVolume -WhatIf -ErrorAction Stop } | Should -Not -Throw
        }

        It 'checks the name before asking' {
            { Close-IntegrityVolume -Name 'a/b' -WhatIf -ErrorAction Stop } | Should -Throw -ErrorId "InvalidMapperName,$fqid"
        }

        It 'completes names without failing where device-mapper is missing or not readable' {
            # With no mapping names PowerShell falls back to its own (file name) completion; the completer must not throw.
            { TabExpansion2 -inputScript 'Close-IntegrityVolume -Name ' -cursorColumn 'Close-IntegrityVolume -Name '.Length } | Should -Not -Throw
        }
    }

    Context 'Without device-mapper' -Skip:$hasDeviceMapper {
        It 'writes DeviceMapperUnavailable per name and continues' {
            $err = $null
            Close-IntegrityVolume -Name a, b -Confirm:$false -ErrorVariable err -ErrorAction SilentlyContinue
            $err.Count | Should -Be 2
            $err.FullyQualifiedErrorId | Should -Be @("DeviceMapperUnavailable,$fqid", "DeviceMapperUnavailable,$fqid")
            $err.TargetObject | Should -Be @('/dev/mapper/control', '/dev/mapper/control')
        }
    }
}

Describe 'Close-IntegrityVolume through the kernel' -Tag 'Acceptance', 'RequireRoot' -Skip:(-not $canRunAcceptance) {
    BeforeEach {
        $name = New-IvolMapperName
        $img = New-IvolTestImage -Size 16MB
        Open-IntegrityVolume -Path $img -Name $name -Confirm:$false
    }

    AfterEach { Remove-IvolTestMapping -Name $name -Image $img }

    It 'closes by name, removing the node and the loop device' {
        $r = Close-IntegrityVolume $name -Confirm:$false -PassThru
        $r | Should -BeOfType IntegrityVolume.Core.Kernel.IntegrityCloseResult
        $r.Name | Should -Be $name
        $r.Deferred | Should -BeFalse
        $r.DetachedLoopDevices.Count | Should -Be 1
        Test-IvolMapping $name | Should -BeFalse
        Test-Path "/dev/mapper/$name" | Should -BeFalse
        @(losetup -j $img) | Should -BeNullOrEmpty
        # The kernel wrote the journal back: the volume is clean and verifies offline.
        (Get-IntegrityVolume -Path $img).JournalState | Should -Be 'Clean'
    }

    It 'closes what Get-IntegrityVolume selects' {
        $r = Get-IntegrityVolume -Name $name | Close-IntegrityVolume -Confirm:$false -PassThru
        $r.Name | Should -Be $name
        Test-IvolMapping $name | Should -BeFalse
    }

    It '-WhatIf closes nothing' {
        Close-IntegrityVolume $name -WhatIf
        Test-IvolMapping $name | Should -BeTrue
    }

    It 'refuses a volume in use, and -Deferred removes it when the last user closes it' {
        $handle = [IO.File]::OpenRead("/dev/mapper/$name")
        try {
            { Close-IntegrityVolume $name -Confirm:$false -ErrorAction Stop } | Should -Throw -ErrorId "DeviceInUse,$fqid"
            $r = Close-IntegrityVolume $name -Deferred -Confirm:$false -PassThru
            $r.Deferred | Should -BeTrue
            Test-IvolMapping $name | Should -BeTrue
        }
        finally { $handle.Dispose() }
        $deadline = [DateTime]::UtcNow.AddSeconds(5)
        while ((Test-IvolMapping $name) -and [DateTime]::UtcNow -lt $deadline) { Start-Sleep -Milliseconds 100 }
        Test-IvolMapping $name | Should -BeFalse
    }

    It 'closes a mapping integritysetup made' {
        Close-IntegrityVolume $name -Confirm:$false
        $loop = losetup --find --show $img
        try {
            integritysetup open $loop $name --integrity crc32c
            $LASTEXITCODE | Should -Be 0
            Close-IntegrityVolume $name -Confirm:$false
            Test-IvolMapping $name | Should -BeFalse
        }
        finally { losetup -d $loop 2>$null }
    }

    It 'reports a name that is not active' {
        Close-IntegrityVolume $name -Confirm:$false
        { Close-IntegrityVolume $name -Confirm:$false -ErrorAction Stop } | Should -Throw -ErrorId "MapperDeviceNotFound,$fqid"
    }
}
