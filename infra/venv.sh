# Sourced by infra/check.sh and infra/build.sh: one cached virtualenv per pinned requirements file.

now() { date +%s.%N; }
since() { awk -v start="$1" -v end="$(now)" 'BEGIN { printf "%.1f", end - start }'; }

# install_venv VENV REQUIREMENTS EXECUTABLE: (re)creates VENV when REQUIREMENTS changed since it
# was made, else reuses it.
install_venv() {
    local venv=$1 requirements=$2 executable=$3 start
    start=$(now)
    if [ -x "$venv/bin/$executable" ] && cmp -s "$requirements" "$venv/.requirements"; then
        echo "$0: $executable: cached in $venv"
        return
    fi
    python3 -m venv --clear "$venv"
    "$venv/bin/pip" install --quiet --disable-pip-version-check -r "$requirements"
    cp "$requirements" "$venv/.requirements"
    echo "$0: $executable: installed into $venv in $(since "$start") s"
}
