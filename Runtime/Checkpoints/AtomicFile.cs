using System;
using System.IO;

namespace ModelDsl.Runtime;

/// <summary>
/// The write-then-rename both checkpoint formats save through. A crash or error mid-write leaves the previous file
/// intact, and what the path points at is respected:
/// <list type="bullet">
/// <item>a symbolic link is followed: the file it points to is replaced and the link stays a link (renaming over
/// the link itself would turn it into a regular file and leave its target stale);</item>
/// <item>an existing file keeps its permission bits (a 0640 checkpoint stays 0640; a new one gets the process's
/// default, 0666 less the umask);</item>
/// <item>anything that is not a regular file — a folder, a device node, a named pipe, a socket — is refused with a
/// message naming it, before anything is written;</item>
/// <item>hard links: the rename gives the path a new file, so other names of the old file keep the previous
/// contents. Writing in place would keep them in step but could leave a half-written checkpoint after a crash, which
/// is the one thing this class exists to prevent; docs/checkpoints.md says so.</item>
/// </list>
/// Every error message names the path the caller gave (and the file a link resolved to), never the temporary file.
/// </summary>
internal static class AtomicFile
{
    /// <summary>Writes <paramref name="path"/> through <paramref name="write"/>, which gets the temporary file's stream.</summary>
    public static void Write(string path, Action<FileStream> write)
    {
        var (target, shown, folder, kind) = Check(path);

        // Same folder as the final file, so the rename never crosses file systems (and is therefore atomic).
        string temp = Path.Combine(folder, $".{Path.GetFileName(target)}.{Guid.NewGuid():N}.tmp");
        try
        {
            using (var stream = new FileStream(temp, FileMode.CreateNew, FileAccess.Write, FileShare.None, bufferSize: 1 << 16))
            {
                write(stream);
                stream.Flush(flushToDisk: true);
            }
            if (kind.Type == FileKindType.Regular && !OperatingSystem.IsWindows()) File.SetUnixFileMode(temp, kind.Mode);
            File.Move(temp, target, overwrite: true);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            TryDelete(temp);
            string reason = e.Message.Replace(temp, target, StringComparison.Ordinal);
            if (e is UnauthorizedAccessException)
                throw new UnauthorizedAccessException($"{shown}: cannot save: permission denied in {folder} ({reason})", e);
            throw new IOException($"{shown}: cannot save: {reason}", e);
        }
        catch
        {
            TryDelete(temp);
            throw;
        }
    }

    /// <summary>
    /// Everything <see cref="Write"/> checks before it writes — the link resolved, the target a regular file or
    /// nothing, its folder present — with the same exceptions; returns the resolved target, the path as messages
    /// show it, its folder and what is there now.
    /// </summary>
    public static (string Target, string Shown, string Folder, FileKind Kind) Check(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        string full = Path.GetFullPath(path);
        string target = ResolveTarget(full);
        string shown = target == full ? full : $"{full} (a link to {target})";

        FileKind kind = FileKind.Of(target);
        if (kind.Type is not (FileKindType.Missing or FileKindType.Regular))
            throw new IOException($"{shown}: cannot save a checkpoint there: it is {kind.Describe()}, not a regular file (refusing to replace it)");
        string folder = Path.GetDirectoryName(target) ?? ".";
        if (!Directory.Exists(folder))
            throw new DirectoryNotFoundException($"{shown}: cannot save: the folder {folder} does not exist");
        return (target, shown, folder, kind);
    }

    /// <summary>The file a chain of symbolic links ends at (the path itself when it is not a link).</summary>
    private static string ResolveTarget(string full)
    {
        FileSystemInfo? final;
        try
        {
            final = File.ResolveLinkTarget(full, returnFinalTarget: true);
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            return full;   // nothing there yet (the folder check below reports a missing folder)
        }
        catch (IOException e)
        {
            // A link loop (ELOOP) or an unreadable link.
            throw new IOException($"{full}: cannot save: its symbolic link cannot be followed ({e.Message})", e);
        }
        return final is null ? full : Path.GetFullPath(final.FullName);
    }

    private static void TryDelete(string temp)
    {
        try { File.Delete(temp); }
        catch (IOException) { /* best effort: the original error matters more */ }
        catch (UnauthorizedAccessException) { }
    }
}
