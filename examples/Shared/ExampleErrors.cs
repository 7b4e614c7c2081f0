// Shared by every example program (linked into each project as Shared/ExampleErrors.cs).
using System;
using System.IO;
using ModelDsl.Cuda;
using ModelDsl.Runtime;

namespace ModelDsl.Examples;

/// <summary>
/// How the example programs fail on ordinary mistakes: one line on stderr naming the path or the problem, exit code 1
/// — never a stack trace (exit 134) after an epoch of training. Output paths are checked before training starts;
/// what can only fail later (a full disk at the tenth checkpoint, a CUDA error under <c>--device emulated</c>) goes
/// through <see cref="Install"/>.
/// </summary>
internal static class ExampleErrors
{
    /// <summary>
    /// Makes an ordinary failure anywhere in the program — I/O (<see cref="IOException"/>, permissions), bad data
    /// (<see cref="InvalidDataException"/>), CUDA (<see cref="CudaException"/>, compile and launch errors included) or
    /// training that diverged (<see cref="NonFiniteException"/>: NaN or ∞ in the data, or a learning rate too large) — print <c>error: &lt;message&gt;</c> and exit 1. Anything else is a bug and keeps .NET's stack trace.
    /// </summary>
    /// <remarks>
    /// A last-chance handler rather than a try/catch around each program: the examples are top-level programs whose
    /// every stage (data, device, training, checkpoint, plot) can meet such an error, and the handler covers the
    /// worker threads as well. Exiting from it skips the usual unwinding, which only matters for resources the
    /// process releases anyway.
    /// </remarks>
    public static void Install() =>
        AppDomain.CurrentDomain.UnhandledException += (_, e) =>
        {
            if (e.ExceptionObject is not Exception ex || !IsOrdinary(ex)) return;
            Console.Out.Flush();
            Console.Error.WriteLine($"error: {ex.Message}");
            Environment.Exit(1);
        };

    /// <summary>The failures a user causes or can fix (a path, a file, the data, the machine), as opposed to bugs.</summary>
    public static bool IsOrdinary(Exception ex) =>
        ex is IOException or UnauthorizedAccessException or InvalidDataException or CudaException or NonFiniteException;

    /// <summary>
    /// Checks a checkpoint path before training, by the rules <see cref="Safetensors.Save"/> applies (its folder
    /// exists; the path is not a folder, device or pipe) and that the folder can be written. Null when it can be
    /// used, else the one-line message.
    /// </summary>
    public static string? CheckCheckpointPath(string option, string path)
    {
        try
        {
            Safetensors.CheckSavePath(path);
            ProbeWritable(Path.GetDirectoryName(Path.GetFullPath(path))!);
            return null;
        }
        catch (Exception ex) when (IsOrdinary(ex))
        {
            return $"{option} {path}: {Strip(ex.Message, path)}";
        }
    }

    /// <summary>
    /// Checks a plot (or other output file) path before training: not a folder, its folder created if missing (as
    /// the plot writer does) and writable. Null when it can be used, else the one-line message.
    /// </summary>
    public static string? CheckOutputFile(string option, string path)
    {
        if (path.Length == 0) return $"{option}: the path is empty";
        string full = Path.GetFullPath(path);
        if (Directory.Exists(full))
            return $"{option} {path}: is a folder; give a file name in it, such as {Path.Combine(path, "curves.png")}";
        string folder = Path.GetDirectoryName(full)!;
        try
        {
            for (string? up = folder; up is not null; up = Path.GetDirectoryName(up))
                if (File.Exists(up)) return $"{option} {path}: {up} is a file, not a folder";
            Directory.CreateDirectory(folder);
            ProbeWritable(folder);
            return null;
        }
        catch (Exception ex) when (IsOrdinary(ex))
        {
            return $"{option} {path}: {ex.Message}";
        }
    }

    /// <summary>Prints <paramref name="problem"/> as the program's one error line; returns the exit code 1.</summary>
    public static int Fail(string problem)
    {
        Console.Error.WriteLine($"error: {problem}");
        return 1;
    }

    // Creating a file is the only check that sees read-only mounts, ACLs and quotas the way the later write will.
    private static void ProbeWritable(string folder)
    {
        string probe = Path.Combine(folder, $".modeldsl-write-test-{Environment.ProcessId}-{Guid.NewGuid():N}");
        try
        {
            using (new FileStream(probe, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1, FileOptions.DeleteOnClose)) { }
        }
        catch (UnauthorizedAccessException ex)
        {
            throw new UnauthorizedAccessException($"the folder {folder} is not writable (permission denied)", ex);
        }
        catch (IOException ex)
        {
            throw new IOException($"the folder {folder} cannot be written ({ex.Message.Replace(probe, folder, StringComparison.Ordinal)})", ex);
        }
    }

    // The runtime's messages start with the full path; the option line already names it.
    private static string Strip(string message, string path)
    {
        string full = Path.GetFullPath(path);
        return message.StartsWith(full + ": ", StringComparison.Ordinal) ? message[(full.Length + 2)..]
            : message.StartsWith(full + " (", StringComparison.Ordinal) ? message[full.Length..].TrimStart()
            : message;
    }
}
