using System;
using System.IO;
using System.Runtime.InteropServices;

namespace ModelDsl.Runtime;

/// <summary>What a path is, following symbolic links: the atomic save may replace only a regular file.</summary>
internal enum FileKindType { Missing, Regular, Directory, CharacterDevice, BlockDevice, Fifo, Socket, Unknown }

/// <summary>The kind, permission bits and link count of a path (after following symbolic links).</summary>
internal readonly record struct FileKind(FileKindType Type, UnixFileMode Mode, long LinkCount)
{
    /// <summary>"a character device", "a folder", …: for messages.</summary>
    public string Describe() => Type switch
    {
        FileKindType.Missing => "missing",
        FileKindType.Regular => "a regular file",
        FileKindType.Directory => "a folder",
        FileKindType.CharacterDevice => "a character device",
        FileKindType.BlockDevice => "a block device",
        FileKindType.Fifo => "a named pipe (FIFO)",
        FileKindType.Socket => "a socket",
        _ => "not a regular file",
    };

    /// <summary>
    /// Linux: statx(2). Elsewhere .NET's own attributes, which tell a folder from a file but cannot see devices or
    /// pipes.
    /// </summary>
    public static FileKind Of(string path)
    {
        if (OperatingSystem.IsLinux() && s_hasStatx && TryStatx(path) is { } kind) return kind;
        if (Directory.Exists(path)) return new FileKind(FileKindType.Directory, 0, 1);
        if (!File.Exists(path)) return new FileKind(FileKindType.Missing, 0, 0);
        UnixFileMode mode = OperatingSystem.IsWindows() ? 0 : File.GetUnixFileMode(path);
        return new FileKind(FileKindType.Regular, mode, 1);
    }

    private static bool s_hasStatx = true;

    private static unsafe FileKind? TryStatx(string path)
    {
        const int AtFdCwd = -100;
        const uint StatxType = 0x1, StatxMode = 0x2, StatxNlink = 0x4;
        const int ENOENT = 2, ENOTDIR = 20, ENOSYS = 38;
        byte* buffer = stackalloc byte[256];   // struct statx is 256 bytes
        int result;
        try
        {
            result = statx(AtFdCwd, path, 0, StatxType | StatxMode | StatxNlink, buffer);
        }
        catch (Exception e) when (e is EntryPointNotFoundException or DllNotFoundException)
        {
            s_hasStatx = false;   // glibc before 2.28, or another C library: the portable fallback
            return null;
        }
        if (result != 0)
        {
            int errno = Marshal.GetLastPInvokeError();
            if (errno is ENOENT or ENOTDIR) return new FileKind(FileKindType.Missing, 0, 0);
            if (errno == ENOSYS) { s_hasStatx = false; return null; }
            throw new IOException($"{path}: cannot inspect it ({Marshal.GetPInvokeErrorMessage(errno)})");
        }
        uint links = *(uint*)(buffer + 16);    // stx_nlink
        ushort mode = *(ushort*)(buffer + 28); // stx_mode
        FileKindType type = (mode & 0xF000) switch
        {
            0x8000 => FileKindType.Regular,
            0x4000 => FileKindType.Directory,
            0x2000 => FileKindType.CharacterDevice,
            0x6000 => FileKindType.BlockDevice,
            0x1000 => FileKindType.Fifo,
            0xC000 => FileKindType.Socket,
            _ => FileKindType.Unknown,
        };
        return new FileKind(type, (UnixFileMode)(mode & 0xFFF), links);
    }

    // statx(2): its buffer layout is the same on every architecture (struct stat's is not). Follows symbolic links.
    [DllImport("libc.so.6", SetLastError = true)]
    private static extern unsafe int statx(int dirfd, [MarshalAs(UnmanagedType.LPUTF8Str)] string path, int flags, uint mask, byte* buffer);
}
