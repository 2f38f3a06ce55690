# Build Slotwise for Windows: the one-folder bundle (dist\slotwise\) and the Inno Setup
# installer (dist\slotwise-<version>-windows-x64-setup.exe).
#
#   powershell -ExecutionPolicy Bypass -File packaging\build-windows.ps1
#   ... -Python C:\venvs\slotwise\Scripts\python.exe -SkipInstaller
#
# Needs: the project's venv (PySide6, pyinstaller) and Inno Setup 6 (ISCC.exe on PATH, in
# $env:ISCC, or in the default install folder). Optional code signing: set
# $env:SIGN_CERT_THUMBPRINT (a certificate in the user's store) and have signtool.exe on PATH.
param(
    [string]$Python = "python",
    [switch]$SkipInstaller
)
$ErrorActionPreference = "Stop"
$Root = Split-Path -Parent $PSScriptRoot
Set-Location $Root

function Invoke-Checked([string]$Exe, [string[]]$Arguments) {
    & $Exe @Arguments
    if ($LASTEXITCODE -ne 0) { throw "$Exe $($Arguments -join ' ') failed ($LASTEXITCODE)" }
}

# The single source: pyproject.toml. ISCC reads it from SLOTWISE_VERSION (installer.iss).
$Version = (& $Python packaging\version.py).Trim()
if ($LASTEXITCODE -ne 0 -or -not $Version) { throw "cannot read the version from pyproject.toml" }
$env:SLOTWISE_VERSION = $Version
Write-Host "== Slotwise $Version for Windows"

$timer = [Diagnostics.Stopwatch]::StartNew()
Invoke-Checked $Python @("-m", "PyInstaller", "--noconfirm", "--clean", "--log-level", "WARN",
    "--distpath", "dist", "--workpath", "build", "packaging\slotwise.spec")
Write-Host "== PyInstaller took $([int]$timer.Elapsed.TotalSeconds) s"

$Bundle = Join-Path $Root "dist\slotwise"
Invoke-Checked "$Bundle\slotwise.exe" @("--version")
Invoke-Checked "$Bundle\slotwise.exe" @("--self-test")

function Sign-Files([string[]]$Files) {
    if (-not $env:SIGN_CERT_THUMBPRINT) { return }
    Invoke-Checked "signtool.exe" (@("sign", "/sha1", $env:SIGN_CERT_THUMBPRINT, "/fd", "sha256",
        "/tr", "http://timestamp.digicert.com", "/td", "sha256") + $Files)
}
Sign-Files @("$Bundle\slotwise.exe", "$Bundle\slotwise-gui.exe")

$size = (Get-ChildItem $Bundle -Recurse | Measure-Object -Property Length -Sum).Sum / 1MB
Write-Host ("== bundle: $Bundle ({0:N0} MB)" -f $size)
if ($SkipInstaller) { return }

$Iscc = $env:ISCC
if (-not $Iscc) { $Iscc = (Get-Command iscc.exe -ErrorAction SilentlyContinue).Source }
if (-not $Iscc) { $Iscc = "${env:ProgramFiles(x86)}\Inno Setup 6\ISCC.exe" }
if (-not (Test-Path $Iscc)) { throw "Inno Setup 6 not found: install it or set `$env:ISCC" }
Invoke-Checked $Iscc @("/Q", "/DAppVersion=$Version", "installer.iss")
$Setup = "dist\slotwise-$Version-windows-x64-setup.exe"
Sign-Files @($Setup)
Write-Host "== installer: $Setup"
