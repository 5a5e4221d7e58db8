#Requires -Version 7.4
<#
.SYNOPSIS
    Builds, tests, packages and documents the IntegrityVolume PowerShell module.

.DESCRIPTION
    Tasks (run in the order given):

      Build    dotnet build of the module (and of the test project when testing).
      Test     xunit (dotnet test tests/IntegrityVolume.Tests), then the Pester task.
      Pester   The Pester 5 suite in tests/*.Tests.ps1 against the packaged module, in a fresh pwsh process.
               Packages first if needed. (tests/run.sh runs xunit itself, then this task.)
      Package  Lays out out/IntegrityVolume/<ModuleVersion>/: manifest, format file, IntegrityVolume.dll,
               IntegrityVolume.Core.dll and its dependencies, en-US help. Never System.Management.Automation.dll
               (the PowerShellStandard stub would shadow pwsh's engine) and never Microsoft.Extensions.ObjectPool.dll
               (pwsh ships its own; see about_IntegrityVolume, DEPENDENCIES).
      Docs     Regenerates en-US/IntegrityVolume.dll-Help.xml from docs/en-US/*.md with PlatyPS when it is
               installed (platyPS 0.14 New-ExternalHelp, or Microsoft.PowerShell.PlatyPS 1.x); otherwise keeps the
               committed MAML, which the xunit HelpTests keep in sync with the markdown.
      Clean    Removes out/ and the bin/obj folders of the module.

    Pester tests tagged 'Acceptance' need root, loop devices and device-mapper; they run only with -Acceptance.

.EXAMPLE
    ./build.ps1
    Builds and packages the module into out/IntegrityVolume/0.1.0.

.EXAMPLE
    ./build.ps1 -Task Build, Test -Configuration Release
    Builds, runs the xunit and Pester suites (without Acceptance tests).

.EXAMPLE
    sudo pwsh ./build.ps1 -Task Test -Acceptance
    Also runs the root-only tests that open volumes through the kernel.
#>
[CmdletBinding()]
param(
    [ValidateSet('Build', 'Test', 'Pester', 'Package', 'Docs', 'Clean')]
    [string[]] $Task = @('Build', 'Package'),

    [ValidateSet('Debug', 'Release')]
    [string] $Configuration = 'Release',

    # Include Pester tests tagged Acceptance (root, loop devices, device-mapper).
    [switch] $Acceptance,

    # Pester version to require (pinned like PSOpenAD/SecretManagement).
    [string] $PesterVersion = '5.7.1'
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

# Files that must never be in the package.
$neverShip = @('System.Management.Automation.dll', 'Microsoft.Extensions.ObjectPool.dll')

function Invoke-Native {
    param([string] $FilePath, [string[]] $ArgumentList)
    Write-Host "> $FilePath $($ArgumentList -join ' ')"
    & $FilePath @ArgumentList
    if ($LASTEXITCODE -ne 0) { throw "$FilePath exited with $LASTEXITCODE" }
}

function Invoke-Build {
    Invoke-Native dotnet @('build', $projectDir, '-c', $Configuration, '--nologo')
}

function Invoke-Package {
    if (-not (Test-Path (Join-Path $binDir "$moduleName.dll"))) { Invoke-Build }

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
}

function Invoke-Test {
    Invoke-Native dotnet @('test', $testProject, '-c', $Configuration, '--nologo')
    Invoke-PesterSuite
}

function Invoke-PesterSuite {
    if (-not (Test-Path (Join-Path $outDir "$moduleName.psd1"))) { Invoke-Package }

    # A binary module cannot be unloaded: run Pester in a fresh process, against the packaged module.
    $pesterScript = {
        param($TestsDir, $ManifestPath, $PesterVersion, $Acceptance, $ResultPath)
        $ErrorActionPreference = 'Stop'
        if (-not (Get-Module -ListAvailable Pester | Where-Object Version -GE ([version]$PesterVersion))) {
            throw "Pester $PesterVersion or later is required: Install-PSResource Pester -Version $PesterVersion"
        }
        Import-Module Pester -MinimumVersion $PesterVersion
        $env:IVOL_MODULE_MANIFEST = $ManifestPath
        $config = New-PesterConfiguration
        $config.Run.Path = @(Get-ChildItem -LiteralPath $TestsDir -Filter *.Tests.ps1 | ForEach-Object FullName)
        $config.Run.PassThru = $true
        $config.Output.Verbosity = 'Detailed'
        $config.TestResult.Enabled = $true
        $config.TestResult.OutputFormat = 'NUnitXml'
        $config.TestResult.OutputPath = $ResultPath
        if (-not $Acceptance) { $config.Filter.ExcludeTag = @('Acceptance') }
        $result = Invoke-Pester -Configuration $config
        # Plain last line for tests/run.sh; tests not run (the Acceptance tag excluded) count as skipped.
        "Pester: $($result.PassedCount) passed, $($result.FailedCount) failed, $($result.SkippedCount + $result.NotRunCount) skipped"
        exit $result.FailedCount
    }
    $resultPath = Join-Path $root 'out' 'pester-results.xml'
    & ([Environment]::ProcessPath ?? 'pwsh') -NoProfile -NonInteractive -Command $pesterScript -args @(
        (Join-Path $root 'tests'), (Join-Path $outDir "$moduleName.psd1"), $PesterVersion, $Acceptance.IsPresent, $resultPath)
    if ($LASTEXITCODE -ne 0) { throw "Pester: $LASTEXITCODE test(s) failed (results: $resultPath)" }
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
        Write-Warning ("PlatyPS is not installed: keeping the committed en-US/IntegrityVolume.dll-Help.xml. " +
            "The xunit HelpTests fail when it drifts from docs/en-US; without PlatyPS regenerate it with " +
            "`$env:IVOL_UPDATE_HELP = '1'; dotnet test tests/IntegrityVolume.Tests --filter FullyQualifiedName~Module.HelpTests")
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
        'Build' { Invoke-Build }
        'Package' { Invoke-Package }
        'Test' { Invoke-Test }
        'Pester' { Invoke-PesterSuite }
        'Docs' { Invoke-Docs }
    }
}
