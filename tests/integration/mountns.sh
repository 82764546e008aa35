# Sourced first (before lib.sh) by a test that mounts a small tmpfs: the
# test runs again in a private mount namespace (unshare -m, or -rm when
# not root), so nothing outside it sees the mount.
if [ -z "${SL_MOUNT_NS:-}" ]; then
	ns=-m
	[ "$(id -u)" = 0 ] || ns=-rm
	if SL_MOUNT_NS=1 unshare "$ns" true 2>/dev/null; then
		SL_MOUNT_NS=1 exec unshare "$ns" "$0" "$@"
	fi
	echo "not ok 1 - unshare $ns is needed for a private tmpfs"
	exit 1
fi
