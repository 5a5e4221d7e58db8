#Requires -Version 7.4
<#
.SYNOPSIS
    Builds, tests, packages and documents the IntegrityVolume PowerShell module.

.DESCRIPTION
    Tasks (run in the order given):

      Build    dotnet build of the module (and of the test project when testing).
      Test     xunit (dotnet test tests/IntegrityVolume.Tests), then the Pester task.
      Pester   The Pester 5 suite in tests/*.Tests.ps1 against the packaged module, in a fresh pwsh process
               ($PSHOME/pwsh, the same pwsh that runs this script, e.g. the local tool `dotnet pwsh`). Packages
               first if needed, and restores Pester from NuGet first (the Modules task). (tests/run.sh runs xunit
               itself, then this task.)
      Modules  Restores the PowerShell modules the tests need (Pester $PesterVersion) from NuGet through the
               restore-only project tools/modules.csproj and copies each package's tools/ folder to
               out/modules/<Name>/<Version>/, which the Pester task puts first on PSModulePath. Nothing is
               installed machine-wide.
      Package  Lays out out/IntegrityVolume/<ModuleVersion>/: manifest, format file, IntegrityVolume.dll,
               IntegrityVolume.Core.dll and its dependencies, en-US help. Never System.Management.Automation.dll
               (the PowerShellStandard stub would shadow pwsh's engine) and never Microsoft.Extensions.ObjectPool.dll
               (pwsh ships its own; see about_IntegrityVolume, DEPENDENCIES).
               Beside the module, the CLI users get: out/IntegrityVolume/bin/ivol, the NativeAOT build (one file,
               ~25 ms start-up). It reuses out/aot/ivol (tests/aot/build.sh publishes there) when that is newer than
               every source of the CLI, Core and benchmark projects, and otherwise publishes it there once
               (dotnet publish -r linux-x64 -p:PublishAot=true; needs clang and zlib1g-dev: without them the
               package has no ivol and a warning says why). The packaged ivol must answer --version with the
               module's version.
      Docs     Regenerates en-US/IntegrityVolume.dll-Help.xml from docs/en-US/*.md (the one source): with PlatyPS
               when it is installed (platyPS 0.14 New-ExternalHelp, or Microsoft.PowerShell.PlatyPS 1.x), otherwise
               with the project's own markdown-to-MAML writer (the xunit HelpTests, which also fail in CI whenever the
               committed MAML and the markdown differ, and check both against the compiled cmdlets).
      Clean    Removes out/ and the bin/obj folders of the module.

    Pester tests tagged 'Acceptance' need root, loop devices and device-mapper; they run only with -Acceptance
    (or -Tag Acceptance, which runs only them: tests/kernel runs them so inside its qemu guest).
    IVOL_PESTER_FILES="New-IntegrityArray Open-IntegrityArray" limits the Pester task to those test files
    (tests/<name>.Tests.ps1; in the kernel guest: IVOL_GUEST_PESTER_FILES).
    pwsh itself is pinned in the repository's tool manifest (dotnet-tools.json): `dotnet tool restore`, then
    `dotnet pwsh ./build.ps1 ...`.

.EXAMPLE
    ./build.ps1
    Builds and packages the module into out/IntegrityVolume/0.1.0.

.EXAMPLE
    ./build.ps1 -Task Build, Test -Configuration Release
    Builds, runs the xunit and Pester suites (without Acceptance tests).

.EXAMPLE
    sudo dotnet pwsh ./build.ps1 -Task Test -Acceptance
    Also runs the root-only tests that open volumes through the kernel.
#>
[CmdletBinding()]
param(
    [ValidateSet('Build', 'Test', 'Pester', 'Package', 'Modules', 'Docs', 'Clean')]
    [string[]] $Task = @('Build', 'Package'),

    [ValidateSet('Debug', 'Release')]
    [string] $Configuration = 'Release',

    # Include Pester tests tagged Acceptance (root, loop devices, device-mapper).
    [switch] $Acceptance,

    # Run only the Pester tests with these tags (e.g. Acceptance inside the kernel guest).
    [string[]] $Tag,

    # Where Pester writes its NUnit XML (default out/pester-results.xml).
    [string] $ResultPath,

    # Pester version restored from NuGet and required (tools/modules.csproj pins the same version).
    [string] $PesterVersion = '5.9.1'
)

$ErrorActionPreference = 'Stop'
Set-StrictMode -Version Latest

$root = $PSScriptRoot
$moduleName = 'IntegrityVolume'
$manifestPath = Join-Path $root "$moduleName.psd1"
$manifest = Import-PowerShellDataFile -LiteralPath $manifestPath
$version = $manifest.ModuleVersion
$projectDir = Join-Path $root 'src' $moduleName
$binDir = Join-Path $projectDir 'bin' $Configuration 'net8.0'
$outDir = Join-Path $root 'out' $moduleName $version
$testProject = Join-Path $root 'tests' 'IntegrityVolume.Tests'
$modulesDir = Join-Path $root 'out' 'modules'
$modulesProject = Join-Path $root 'tools' 'modules.csproj'

$cliOutDir = Join-Path $root 'out' $moduleName 'bin'
$aotDir = Join-Path $root 'out' 'aot'

# Files that must never be in the package.
$neverShip = @('System.Management.Automation.dll', 'Microsoft.Extensions.ObjectPool.dll')

function Invoke-Native {
    param([string] $FilePath, [string[]] $ArgumentList)
    Write-Host "> $FilePath $($ArgumentList -join ' ')"
    & $FilePath @ArgumentList
    if ($LASTEXITCODE -ne 0) { throw "$FilePath exited with $LASTEXITCODE" }
}

function Invoke-DotnetBuild {   # not Invoke-Build: that is the InvokeBuild module's command
    Invoke-Native dotnet @('build', $projectDir, '-c', $Configuration, '--nologo')
}

function Invoke-Package {
    if (-not (Test-Path (Join-Path $binDir "$moduleName.dll"))) { Invoke-DotnetBuild }

    $assemblyVersion = [Diagnostics.FileVersionInfo]::GetVersionInfo((Join-Path $binDir "$moduleName.dll")).ProductVersion -replace '\+.*$'
    if ($assemblyVersion -ne $version) {
        throw "ModuleVersion $version in $moduleName.psd1 differs from the assembly version $assemblyVersion (Directory.Build.props)."
    }

    if (Test-Path $outDir) { Remove-Item -LiteralPath $outDir -Recurse -Force }
    $null = New-Item -ItemType Directory -Path $outDir
    $null = New-Item -ItemType Directory -Path (Join-Path $outDir 'en-US')

    Copy-Item -LiteralPath $manifestPath, (Join-Path $root "$moduleName.format.ps1xml") -Destination $outDir
    Get-ChildItem -LiteralPath $binDir -Filter *.dll |
        Where-Object Name -NotIn $neverShip |
        Copy-Item -Destination $outDir
    if ($Configuration -eq 'Debug') {
        Get-ChildItem -LiteralPath $binDir -Filter "$moduleName*.pdb" | Copy-Item -Destination $outDir
    }
    Get-ChildItem -LiteralPath (Join-Path $root 'en-US') -File |
        Where-Object { $_.Name -like '*-Help.xml' -or $_.Name -like 'about_*.help.txt' } |
        Copy-Item -Destination (Join-Path $outDir 'en-US')
    foreach ($extra in 'README.md', 'LICENSE') {
        $path = Join-Path $root $extra
        if (Test-Path -LiteralPath $path) { Copy-Item -LiteralPath $path -Destination $outDir }
    }

    # Layout checks (the xunit ModuleLayoutTests check the build output; these check the package).
    foreach ($name in $neverShip) {
        if (Test-Path (Join-Path $outDir $name)) { throw "$name must not ship in $outDir" }
    }
    foreach ($required in "$moduleName.psd1", "$moduleName.dll", "$moduleName.Core.dll", "$moduleName.format.ps1xml",
        'en-US/IntegrityVolume.dll-Help.xml', 'en-US/about_IntegrityVolume.help.txt') {
        if (-not (Test-Path (Join-Path $outDir $required))) { throw "$required is missing from $outDir" }
    }
    $null = Test-ModuleManifest -Path (Join-Path $outDir "$moduleName.psd1")
    Write-Host "Packaged $moduleName $version into $outDir"
    Invoke-PackageCli
}

# The NativeAOT ivol beside the module (out/IntegrityVolume/bin/ivol): out/aot/ivol when it is up to date, else
# published there once, with the same command as tests/aot/build.sh (so either one reuses the other's output).
function Invoke-PackageCli {
    if (-not $IsLinux) { Write-Warning 'The NativeAOT ivol is built for linux-x64 only: the package has no ivol.'; return }
    $aot = Join-Path $aotDir 'ivol'
    $inputs = @('IntegrityVolume.Cli', 'IntegrityVolume.Core', 'IntegrityVolume.Benchmark') |
        ForEach-Object { Get-ChildItem -LiteralPath (Join-Path $root 'src' $_) -Recurse -File -Include '*.cs', '*.csproj' } |
        Where-Object FullName -NotMatch '[\\/](bin|obj)[\\/]'
    $inputs = @($inputs) + @(Get-Item -LiteralPath (Join-Path $root 'Directory.Build.props'))
    $newest = ($inputs | Measure-Object -Property LastWriteTimeUtc -Maximum).Maximum
    if ((Test-Path -LiteralPath $aot) -and (Get-Item -LiteralPath $aot).LastWriteTimeUtc -gt $newest) {
        Write-Host "NativeAOT ivol: reusing $aot (newer than its sources)"
    }
    elseif (-not (Get-Command clang -CommandType Application -ErrorAction SilentlyContinue) -or -not (Test-Path -LiteralPath '/usr/include/zlib.h')) {
        Write-Warning "No clang or zlib1g-dev: the NativeAOT ivol cannot be linked, so the package has no ivol (apt-get install clang zlib1g-dev, or run tests/aot/build.sh)."
        return
    }
    else {
        $started = [Diagnostics.Stopwatch]::StartNew()
        Invoke-Native dotnet @('publish', (Join-Path $root 'src' 'IntegrityVolume.Cli'), '-c', 'Release', '-r', 'linux-x64',
            '-p:PublishAot=true', '--artifacts-path', (Join-Path $root 'out' 'aot-artifacts'), '-o', $aotDir, '--nologo', '-v', 'q')
        Write-Host "NativeAOT ivol published in $([int]$started.Elapsed.TotalSeconds) s"
    }
    if (Test-Path -LiteralPath $cliOutDir) { Remove-Item -LiteralPath $cliOutDir -Recurse -Force }
    $null = New-Item -ItemType Directory -Path $cliOutDir
    $cli = Join-Path $cliOutDir 'ivol'
    Copy-Item -LiteralPath $aot -Destination $cli
    $said = & $cli --version 2>&1
    if ($LASTEXITCODE -ne 0 -or "$said" -notlike "$version*") {
        throw "The packaged ivol ($cli) does not run or is not version ${version}: exit $LASTEXITCODE, '$said'"
    }
    Write-Host "Packaged the NativeAOT ivol $said into $cli"
}

function Invoke-Test {
    Invoke-Native dotnet @('test', $testProject, '-c', $Configuration, '--nologo')
    Invoke-PesterSuite
}

function Invoke-Modules {
    $target = Join-Path $modulesDir 'Pester' $PesterVersion
    if (Test-Path -LiteralPath (Join-Path $target 'Pester.psd1')) { return }
    if ((Select-String -LiteralPath $modulesProject -Pattern 'Include="Pester" Version="\[([^\]]+)\]"').Matches[0].Groups[1].Value -ne $PesterVersion) {
        throw "tools/modules.csproj does not pin Pester $PesterVersion."
    }
    Invoke-Native dotnet @('restore', $modulesProject, '--nologo')
    # The NuGet cache the restore used (NUGET_PACKAGES or ~/.nuget/packages), as recorded by the restore itself.
    $assets = Get-Content -Raw -LiteralPath (Join-Path $root 'tools' 'obj' 'project.assets.json') | ConvertFrom-Json -AsHashtable
    $source = $assets.packageFolders.Keys | ForEach-Object { Join-Path $_ 'pester' $PesterVersion 'tools' } |
        Where-Object { Test-Path -LiteralPath (Join-Path $_ 'Pester.psd1') } | Select-Object -First 1
    if (-not $source) { throw "The Pester $PesterVersion package was restored but its tools/Pester.psd1 was not found." }
    $null = New-Item -ItemType Directory -Path $target -Force
    Copy-Item -Path (Join-Path $source '*') -Destination $target -Recurse -Force
    Write-Host "Pester $PesterVersion (NuGet) -> $target"
}

function Invoke-PesterSuite {
    if (-not (Test-Path (Join-Path $outDir "$moduleName.psd1"))) { Invoke-Package }
    Invoke-Modules

    # A binary module cannot be unloaded: run Pester in a fresh process, against the packaged module.
    $pesterScript = {
        param($TestsDir, $ManifestPath, $ModulesDir, $PesterVersion, $Acceptance, $Tag, $ResultPath)
        $ErrorActionPreference = 'Stop'
        # The build's module folder first: its Pester wins over any other on the machine.
        $env:PSModulePath = $ModulesDir + [IO.Path]::PathSeparator + $env:PSModulePath
        try {
            Import-Module Pester -RequiredVersion $PesterVersion
        }
        catch {
            "Pester could not start: Pester $PesterVersion did not load from ${ModulesDir}: $($_.Exception.Message)"
            exit 3
        }
        $env:IVOL_MODULE_MANIFEST = $ManifestPath
        $config = New-PesterConfiguration
        $testFiles = @(Get-ChildItem -LiteralPath $TestsDir -Filter *.Tests.ps1 | ForEach-Object FullName)
        if ($env:IVOL_PESTER_FILES) {
            # Only the files named (tests/<name>.Tests.ps1): one file's Acceptance tests in the guest take minutes, not 15.
            $only = @(-split $env:IVOL_PESTER_FILES)
            $testFiles = @($testFiles | Where-Object { ((Split-Path -Leaf $_) -replace '\.Tests\.ps1$') -in $only })
            if ($testFiles.Count -ne $only.Count) {
                "Pester could not start: IVOL_PESTER_FILES names $($only.Count) test files, $($testFiles.Count) of them found in ${TestsDir}."
                exit 3
            }
        }
        $config.Run.Path = $testFiles
        $config.Run.PassThru = $true
        $config.Output.Verbosity = 'Detailed'
        $config.TestResult.Enabled = $true
        $config.TestResult.OutputFormat = 'NUnitXml'
        $config.TestResult.OutputPath = $ResultPath
        if ($Tag) { $config.Filter.Tag = $Tag }
        elseif (-not $Acceptance) { $config.Filter.ExcludeTag = @('Acceptance') }
        $result = Invoke-Pester -Configuration $config
        # Plain last line for tests/run.sh. Tests the tag filter left out are not counted as skipped: the Acceptance
        # part runs in the kernel guest (tests/kernel) and is counted there.
        "Pester: $($result.PassedCount) passed, $($result.FailedCount) failed, $($result.SkippedCount) skipped ($($result.NotRunCount) not run: tag filter)"
        # Containers that failed to load (a syntax error, a throwing BeforeAll/BeforeDiscovery) are failures too.
        exit ($result.FailedCount + $result.FailedBlocksCount + $result.FailedContainersCount)
    }
    $resultFile = if ($ResultPath) { $ResultPath } else { Join-Path $root 'out' 'pester-results.xml' }
    if (Test-Path -LiteralPath $resultFile) { Remove-Item -LiteralPath $resultFile -Force }
    # The pwsh that runs this script: $PSHOME (under `dotnet pwsh`, [Environment]::ProcessPath is dotnet itself).
    $pwsh = Join-Path $PSHOME ($IsWindows ? 'pwsh.exe' : 'pwsh')
    if (-not (Test-Path -LiteralPath $pwsh)) { throw "Pester could not start: no pwsh in `$PSHOME ($PSHOME)." }
    & $pwsh -NoProfile -NonInteractive -Command $pesterScript -args @(
        (Join-Path $root 'tests'), (Join-Path $outDir "$moduleName.psd1"), $modulesDir, $PesterVersion,
        $Acceptance.IsPresent, $Tag, $resultFile)
    $rc = $LASTEXITCODE
    if (-not (Test-Path -LiteralPath $resultFile)) {
        throw "Pester could not start (exit $rc): no test ran and no results were written to $resultFile."
    }
    if ($rc -ne 0) { throw "Pester: $rc test(s) or block(s) failed (results: $resultFile)" }
}

function Invoke-Docs {
    $markdown = Get-ChildItem -LiteralPath (Join-Path $root 'docs' 'en-US') -Filter '*-*.md'
    $target = Join-Path $root 'en-US'
    if (Get-Module -ListAvailable platyPS | Where-Object Version -GE ([version]'0.14.0')) {
        Import-Module platyPS
        $null = New-ExternalHelp -Path $markdown.FullName -OutputPath $target -Force
        Write-Host "Regenerated $target/IntegrityVolume.dll-Help.xml with platyPS New-ExternalHelp."
    }
    elseif (Get-Module -ListAvailable Microsoft.PowerShell.PlatyPS) {
        Import-Module Microsoft.PowerShell.PlatyPS
        $tmp = Join-Path ([IO.Path]::GetTempPath()) "ivol-maml-$PID"
        $null = Import-MarkdownCommandHelp -Path $markdown.FullName | Export-MamlCommandHelp -OutputFolder $tmp -Force
        # PlatyPS 1.x writes <OutputFolder>/<ModuleName>/<external help file>.
        Copy-Item -LiteralPath (Join-Path $tmp $moduleName 'IntegrityVolume.dll-Help.xml') -Destination $target -Force
        Remove-Item -LiteralPath $tmp -Recurse -Force
        Write-Host "Regenerated $target/IntegrityVolume.dll-Help.xml with Microsoft.PowerShell.PlatyPS."
    }
    else {
        # PlatyPS is not on this machine (nor served by NuGet here): the project's own markdown -> MAML writer
        # (tests/IntegrityVolume.Tests/Module/Support/MamlWriter.cs) regenerates the file from docs/en-US, checked against
        # the compiled cmdlets by the same HelpTests that fail in CI when the committed MAML and the markdown differ.
        $env:IVOL_UPDATE_HELP = '1'
        try {
            Invoke-Native dotnet @('test', $testProject, '-c', $Configuration, '--nologo', '--filter', 'FullyQualifiedName~Module.HelpTests')
        }
        finally { Remove-Item Env:IVOL_UPDATE_HELP }
        Write-Host "Regenerated $target/IntegrityVolume.dll-Help.xml from docs/en-US (markdown is the one source)."
    }
    # about_IntegrityVolume is maintained as plain text in en-US (PlatyPS converts about_ topics poorly).
}

function Invoke-Clean {
    foreach ($path in (Join-Path $root 'out'), (Join-Path $projectDir 'bin'), (Join-Path $projectDir 'obj')) {
        if (Test-Path -LiteralPath $path) { Remove-Item -LiteralPath $path -Recurse -Force }
    }
}

foreach ($t in $Task) {
    Write-Host "=== $t ($Configuration)"
    switch ($t) {
        'Clean' { Invoke-Clean }
        'Build' { Invoke-DotnetBuild }
        'Package' { Invoke-Package }
        'Test' { Invoke-Test }
        'Pester' { Invoke-PesterSuite }
        'Modules' { Invoke-Modules }
        'Docs' { Invoke-Docs }
    }
}
