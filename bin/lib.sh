# Shared by bin/convive and bin/check.

# Export KEY=VALUE lines from a file, leaving variables already set in the environment alone.
load_env_file() {
    local key value
    [ -f "$1" ] || return 0
    while IFS='=' read -r key value; do
        case "$key" in ''|'#'*) continue ;; esac
        [ -n "${!key:-}" ] || export "$key=$value"
    done < "$1"
}
