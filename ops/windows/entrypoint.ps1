# Starts the shipper the way the aws-for-fluent-bit Windows image starts Fluent Bit:
#   C:\entrypoint.ps1 -ConfigFile C:\ecs_windows_forward_daemon\cloudwatch.conf
# so the tutorial's task definition works unchanged. The shipper handles the
# CTRL_CLOSE/CTRL_SHUTDOWN events Docker sends on `docker stop` like SIGTERM:
# it stops reading, commits what it received, gives uploads `Grace` seconds and
# exits with every undelivered record kept in the spool.
param(
    [string]$ConfigFile = "C:\ecs_windows_forward_daemon\cloudwatch.conf"
)

$ErrorActionPreference = "Stop"

if (-not (Test-Path $ConfigFile)) {
    Write-Error "config file $ConfigFile not found"
    exit 1
}

# The spool must outlive the container: mount a host folder here (see ops/ecs).
$spool = if ($env:SHIPPER_STORAGE_PATH) { $env:SHIPPER_STORAGE_PATH } else { "C:\ProgramData\shipper" }
New-Item -ItemType Directory -Force -Path $spool | Out-Null

& C:\shipper\shipper.exe run -c $ConfigFile --storage-path $spool
exit $LASTEXITCODE
