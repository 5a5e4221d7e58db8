#Requires -Modules Pester
# The package (./build.ps1 -Task Package -> out/IntegrityVolume/<version>/) installs by name from a PSResourceGet
# repository, imports by name and works: Publish-PSResource to a local folder repository, Install-PSResource
# IntegrityVolume, Import-Module IntegrityVolume, a volume created and verified. All of it runs in a fresh pwsh whose
# HOME is in TestDrive, so the repository registration and the CurrentUser install never touch the real user's
# (and a binary module loaded in this session cannot be loaded twice).

Describe 'IntegrityVolume package' {
    BeforeAll {
        . $PSScriptRoot/common.ps1
        $packageDir = Split-Path -Parent $IvolManifest
        $home0 = Join-Path $TestDrive 'home'
        $repo = Join-Path $TestDrive 'repo'
        $img = Join-Path $TestDrive 'installed.img'
        # The folders must exist: .NET returns '' for a missing LocalApplicationData, and PSResourceGet and NuGet then
        # write their settings relative to the current directory.
        $null = New-Item -ItemType Directory -Path $repo, (Join-Path $home0 '.local' 'share'), (Join-Path $home0 '.config'), (Join-Path $home0 '.cache')

        $child = {
            param($PackageDir, $Repo, $Image)
            $ErrorActionPreference = 'Stop'
            $ProgressPreference = 'SilentlyContinue'
            Register-PSResourceRepository -Name IvolLocal -Uri $Repo -Trusted
            Publish-PSResource -Path $PackageDir -Repository IvolLocal
            Install-PSResource -Name IntegrityVolume -Repository IvolLocal -Scope CurrentUser -TrustRepository -Quiet
            Import-Module IntegrityVolume
            $m = Get-Module IntegrityVolume
            $r = New-IntegrityVolume -Path $Image -Size 16MB -Confirm:$false -PassThru | Test-IntegrityVolume
            [pscustomobject]@{
                ModuleBase = $m.ModuleBase
                Version    = "$($m.Version)"
                Installed  = @(Get-InstalledPSResource -Name IntegrityVolume -Scope CurrentUser).Count
                Healthy    = $r.Healthy
                Valid      = $r.ValidBlocks
                Checked    = $r.BlocksChecked
            } | ConvertTo-Json -Compress
        }
        $saved = @{ HOME = $env:HOME; XDG_DATA_HOME = $env:XDG_DATA_HOME; XDG_CONFIG_HOME = $env:XDG_CONFIG_HOME; XDG_CACHE_HOME = $env:XDG_CACHE_HOME }
        try {
            $env:HOME = $home0
            $env:XDG_DATA_HOME = Join-Path $home0 '.local' 'share'
            $env:XDG_CONFIG_HOME = Join-Path $home0 '.config'
            $env:XDG_CACHE_HOME = Join-Path $home0 '.cache'
            Push-Location -LiteralPath $home0
            $out = & (Join-Path $PSHOME ($IsWindows ? 'pwsh.exe' : 'pwsh')) -NoProfile -NonInteractive -Command $child -args $packageDir, $repo, $img 2>&1
            $childExit = $LASTEXITCODE
        }
        finally {
            Pop-Location
            foreach ($k in $saved.Keys) { Set-Item -Path "env:$k" -Value $saved[$k] }
        }
        $json = @($out | Where-Object { $_ -is [string] -and $_.StartsWith('{') }) | Select-Object -Last 1
        $installed = if ($json) { $json | ConvertFrom-Json } else { $null }
    }

    It 'publishes, installs by name and imports from the install location' {
        $childExit | Should -Be 0 -Because ($out -join "`n")
        $installed | Should -Not -BeNullOrEmpty -Because ($out -join "`n")
        @(Get-ChildItem -LiteralPath $repo -Filter 'IntegrityVolume.*.nupkg').Count | Should -Be 1
        $installed.Installed | Should -Be 1
        $installed.Version | Should -Be (Import-PowerShellDataFile -LiteralPath $IvolManifest).ModuleVersion
        # Imported by name from the CurrentUser scope under the child's HOME, not from out/.
        $installed.ModuleBase | Should -BeLike "$home0*"
    }

    It 'the installed module creates and verifies a volume' {
        $installed.Healthy | Should -BeTrue
        $installed.Checked | Should -BeGreaterThan 0
        $installed.Valid | Should -Be $installed.Checked
    }

    It 'the volume it made is a dm-integrity volume to integritysetup' -Skip:(-not (Get-Command integritysetup -ErrorAction SilentlyContinue)) {
        $dump = integritysetup dump $img 2>&1
        $LASTEXITCODE | Should -Be 0 -Because ($dump -join "`n")
        ($dump -join "`n") | Should -Match 'tag_size 4'
    }
}

# The CLI as shipped (issue 13): build.ps1's Package task puts the NativeAOT ivol beside the module, in
# out/IntegrityVolume/bin/ivol. It must run on its own (no dotnet), say the module's version, and agree with the module
# about the volumes either of them makes. Without clang the package cannot carry it: skipped then, with the reason.
Describe 'The shipped ivol (NativeAOT, beside the module)' -Skip:((-not (Test-Path -LiteralPath (Join-Path $PSScriptRoot '..' 'out' 'IntegrityVolume' 'bin' 'ivol'))) -and -not (Get-Command clang -CommandType Application -ErrorAction SilentlyContinue)) {
    BeforeAll {
        . $PSScriptRoot/common.ps1
        $ivol = Join-Path $PSScriptRoot '..' 'out' 'IntegrityVolume' 'bin' 'ivol'
        $moduleVersion = (Import-PowerShellDataFile -LiteralPath $IvolManifest).ModuleVersion
    }

    It 'is in the package and is a native executable, not a dotnet app' {
        Test-Path -LiteralPath $ivol | Should -BeTrue -Because 'build.ps1 -Task Package ships it (clang is installed here)'
        [IO.File]::GetUnixFileMode($ivol).HasFlag([IO.UnixFileMode]::UserExecute) | Should -BeTrue
        Test-Path -LiteralPath ([IO.Path]::ChangeExtension($ivol, '.dll')) | Should -BeFalse
        # ELF magic: the NativeAOT binary, not a framework-dependent apphost next to an ivol.dll.
        $head = [IO.File]::ReadAllBytes($ivol)[0..3]
        [Text.Encoding]::ASCII.GetString($head, 1, 3) | Should -Be 'ELF'
    }

    It 'answers --version with the module version' {
        $out = & $ivol --version 2>&1
        $LASTEXITCODE | Should -Be 0 -Because "$out"
        "$out" | Should -BeLike "$moduleVersion*"
    }

    It 'formats and verifies a volume (exit 0, healthy JSON)' {
        $img = Join-Path $TestDrive 'cli.img'
        $null = & $ivol format $img --size 16M --batch-mode --integrity sha256 2>&1
        $LASTEXITCODE | Should -Be 0
        $json = (& $ivol verify $img --integrity sha256 --json 2>&1) -join "`n"
        $LASTEXITCODE | Should -Be 0 -Because $json
        $r = $json | ConvertFrom-Json
        $r.verdict | Should -Be 'healthy'
        $r.validBlocks | Should -BeGreaterThan 0
        $r.validBlocks | Should -Be $r.blocksChecked
        # The module agrees about the volume the CLI made.
        (Test-IntegrityVolume -Path $img -Algorithm sha256).ValidBlocks | Should -Be $r.validBlocks
    }

    It 'verifies a volume the module made, and exits 1 with the sector once a byte is flipped' {
        $img = New-IvolTestImage -Size 8MB
        & $ivol verify $img *> $null
        $LASTEXITCODE | Should -Be 0
        Invoke-IvolFlipByte -Path $img -Offset ((Get-IvolDataOffset -Path $img -Sector 7) + 3)
        $r = (& $ivol verify $img --json 2>$null) -join "`n" | ConvertFrom-Json
        $LASTEXITCODE | Should -Be 1
        $r.verdict | Should -Be 'corrupt'
        $r.mismatchedBlocks | Should -Be 1
        ($r.mismatchedSectors | ConvertTo-Json -Compress) | Should -Match '\b7\b'
    }
}
