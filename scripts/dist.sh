#!/usr/bin/env bash
# dist.sh builds eventwire's release archives (`make dist`, and the release
# workflow on a v* tag): one static binary per target, with the version
# stamped, packed with README.md as a .tar.gz (a .zip for Windows), and a
# SHA-256 checksum file in the format `sha256sum --check` reads.
#
#   scripts/dist.sh                  # every release target
#   scripts/dist.sh linux/amd64      # only the targets named
#
# Environment: VERSION (default: git describe), COMMIT (default: git
# rev-parse HEAD), DIST (output folder, default dist).
set -euo pipefail

cd "$(dirname "$0")/.."
GO=${GO:-go}
VERSION=${VERSION:-$(git describe --tags --always --dirty 2>/dev/null || echo dev)}
DIST=${DIST:-dist}
COMMIT=${COMMIT:-$(git rev-parse HEAD 2>/dev/null || true)}
# The variables `eventwire version` prints (internal/cli/version.go).
CLI=github.com/eventwire/eventwire/internal/cli
TARGETS=("$@")
if [ ${#TARGETS[@]} -eq 0 ]; then
	TARGETS=(linux/amd64 linux/arm64 darwin/amd64 darwin/arm64 windows/amd64)
fi

# GNU tar packs in a fixed order with fixed owners; BSD tar (macOS) as is.
tarflags=()
if tar --version 2>/dev/null | grep -q GNU; then
	tarflags=(--sort=name --owner=0 --group=0 --numeric-owner --mtime=1980-01-01)
fi

mkdir -p "$DIST"
DIST=$(cd "$DIST" && pwd)
archives=()
for target in "${TARGETS[@]}"; do
	os=${target%/*}
	arch=${target#*/}
	name="eventwire_${VERSION}_${os}_${arch}"
	stage="$DIST/$name"
	exe=eventwire
	[ "$os" = windows ] && exe=eventwire.exe
	rm -rf "$stage"
	mkdir -p "$stage"
	echo "dist: $target"
	CGO_ENABLED=0 GOOS=$os GOARCH=$arch $GO build -trimpath -buildvcs=false \
		-ldflags="-s -w -X ${CLI}.Version=${VERSION} -X ${CLI}.Commit=${COMMIT}" -o "$stage/$exe" ./cmd/eventwire
	cp README.md "$stage/"
	# Fixed times, owners and order: the same commit packs the same bytes.
	touch -t 198001010000 "$stage" "$stage"/*
	if [ "$os" = windows ]; then
		archive="$name.zip"
		rm -f "$DIST/$archive"
		(cd "$DIST" && TZ=UTC zip -X -q -r "$archive" "$name")
	else
		archive="$name.tar.gz"
		tar -C "$DIST" "${tarflags[@]}" -cf - "$name" | gzip -n >"$DIST/$archive"
	fi
	rm -rf "$stage"
	archives+=("$archive")
done

sums="eventwire_${VERSION}_checksums.txt"
if command -v sha256sum >/dev/null; then
	(cd "$DIST" && sha256sum "${archives[@]}" >"$sums")
else
	(cd "$DIST" && shasum -a 256 "${archives[@]}" >"$sums")
fi
echo "dist: $DIST/$sums"
