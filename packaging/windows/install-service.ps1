# Installs patchday-agent as a Windows service (run as Administrator):
#
#   .\install-service.ps1 -Server https://updates.example.com -EnrollToken pde_... -Trust C:\path\root.json
#
# The agent answers the Service Control Manager itself (start, stop,
# shutdown), runs as LocalSystem, keeps its state in
# %ProgramData%\patchday-agent and logs to agent.log in that folder. A batch
# interrupted by a stop or a power cut is finished or rolled back at the
# next start.
param(
    [Parameter(Mandatory = $true)] [string] $Server,
    [Parameter(Mandatory = $true)] [string] $EnrollToken,
    [Parameter(Mandatory = $true)] [string] $Trust,
    [string] $Detect = "",
    [string] $Root = $env:ProgramFiles,
    [string] $Binary = "$env:ProgramFiles\patchday\patchday-agent.exe"
)
$ErrorActionPreference = "Stop"
$state = Join-Path $env:ProgramData "patchday-agent"
New-Item -ItemType Directory -Force -Path $state | Out-Null
# Only SYSTEM and Administrators may read the credential and the journal.
icacls $state /inheritance:r /grant:r "SYSTEM:(OI)(CI)F" "Administrators:(OI)(CI)F" | Out-Null
Copy-Item $Trust (Join-Path $state "root.json")

$args = @("--server", $Server, "--enroll-token", $EnrollToken, "--root", "`"$Root`"", "--state", "`"$state`"",
          "--trust", "`"$(Join-Path $state 'root.json')`"", "--log-file", "`"$(Join-Path $state 'agent.log')`"")
if ($Detect -ne "") { $args += @("--detect", "`"$Detect`"") }
$cmd = "`"$Binary`" " + ($args -join " ")

New-Service -Name "patchday-agent" -DisplayName "patchday update agent" -BinaryPathName $cmd `
    -StartupType Automatic -Description "Installs approved updates from the patchday server as one batch in the maintenance window."
# Restart the agent after a failure: 30 s, then 2 minutes.
sc.exe failure patchday-agent reset= 86400 actions= restart/30000/restart/120000 | Out-Null
Start-Service patchday-agent
Write-Host "patchday-agent is running; see Get-Service patchday-agent"
