; Inno Setup 6 script: installs the PyInstaller one-folder build of Slotwise on Windows.
;
; Build it with packaging\build-windows.ps1 (PyInstaller, self-test, then ISCC), or by hand
; after a PyInstaller build:
;     $env:SLOTWISE_VERSION = python packaging\version.py
;     iscc installer.iss                     (or: iscc /DAppVersion=X.Y.Z installer.iss)
;
; The version is never written here: it comes from pyproject.toml, through the environment
; variable SLOTWISE_VERSION or /DAppVersion= on the command line.

#ifndef AppVersion
  #define AppVersion GetEnv("SLOTWISE_VERSION")
#endif
#if AppVersion == ""
  #error "No version: run packaging\build-windows.ps1, set SLOTWISE_VERSION, or pass /DAppVersion= (the [project] version in pyproject.toml)"
#endif
#ifndef BuildDir
  #define BuildDir "dist\slotwise"
#endif
#ifndef IconFile
  #define IconFile "build\slotwise\icons\slotwise.ico"
#endif
#define AppName "Slotwise"
#define AppExe "slotwise-gui.exe"

[Setup]
; AppId identifies the installation for upgrades and the uninstaller: never change it.
AppId={{8F1C6A2E-5B7D-4C39-9E61-3A2D7B0C4E15}
AppName={#AppName}
AppVersion={#AppVersion}
AppVerName={#AppName} {#AppVersion}
AppPublisher=Slotwise developers
AppComments=Update and diagnose firmware on Zephyr/MCUboot devices over SMP
VersionInfoProductTextVersion={#AppVersion}
VersionInfoDescription={#AppName} {#AppVersion} Setup
DefaultDirName={autopf}\{#AppName}
DefaultGroupName={#AppName}
DisableProgramGroupPage=yes
; All users (admin) by default; the first page offers "only for me" without admin rights,
; and /CURRENTUSER or /ALLUSERS pick it on the command line.
PrivilegesRequired=admin
PrivilegesRequiredOverridesAllowed=dialog commandline
LicenseFile=LICENSE
SetupIconFile={#IconFile}
UninstallDisplayIcon={app}\{#AppExe}
UninstallDisplayName={#AppName} {#AppVersion}
OutputDir=dist
OutputBaseFilename=slotwise-{#AppVersion}-windows-x64-setup
ArchitecturesAllowed=x64compatible
ArchitecturesInstallIn64BitMode=x64compatible
MinVersion=10.0
Compression=lzma2/max
SolidCompression=yes
WizardStyle=modern
; An upgrade replaces _internal\ wholesale; stale DLLs of an older Qt must not survive.
CloseApplications=yes

[Languages]
Name: "english"; MessagesFile: "compiler:Default.isl"

[Tasks]
Name: "desktopicon"; Description: "{cm:CreateDesktopIcon}"; GroupDescription: "{cm:AdditionalIcons}"; Flags: unchecked

[InstallDelete]
Type: filesandordirs; Name: "{app}\_internal"

[Files]
Source: "{#BuildDir}\slotwise-gui.exe"; DestDir: "{app}"; Flags: ignoreversion
Source: "{#BuildDir}\slotwise.exe"; DestDir: "{app}"; Flags: ignoreversion
Source: "{#BuildDir}\_internal\*"; DestDir: "{app}\_internal"; Flags: ignoreversion recursesubdirs createallsubdirs
Source: "LICENSE"; DestDir: "{app}"; DestName: "LICENSE.txt"; Flags: ignoreversion

[Icons]
Name: "{group}\{#AppName}"; Filename: "{app}\{#AppExe}"; Comment: "Update firmware over SMP"
Name: "{group}\{#AppName} (demo devices)"; Filename: "{app}\{#AppExe}"; Parameters: "--demo"; Comment: "Try Slotwise on simulated devices"
Name: "{group}\{cm:UninstallProgram,{#AppName}}"; Filename: "{uninstallexe}"
Name: "{autodesktop}\{#AppName}"; Filename: "{app}\{#AppExe}"; Tasks: desktopicon

[Run]
Filename: "{app}\{#AppExe}"; Description: "{cm:LaunchProgram,{#AppName}}"; Flags: nowait postinstall skipifsilent

[UninstallDelete]
; Nothing is written under {app} at run time; settings live in the user's profile and stay.
Type: dirifempty; Name: "{app}"
