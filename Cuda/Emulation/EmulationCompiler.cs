using System;
using System.Collections.Concurrent;
using System.Collections.Generic;
using System.Diagnostics;
using System.IO;
using System.Security.Cryptography;
using System.Text;
using System.Text.RegularExpressions;

namespace ModelDsl.Cuda.Emulation;

/// <summary>
/// The C++ compiler that turns a CUDA module into a shared library for the emulator, and the on-disk cache of those
/// libraries. A module lives in <c>{CacheDirectory}/{hash}/</c> (the hash covers the source, the emulation header, the
/// thunks, the flags and the compiler's identity) beside the sources it was built from, so compiler messages point
/// at files that stay. Concurrent compiles of one module (two test processes) each write whole files under temporary
/// names and rename them into place, so neither ever sees a half-written source or library. A cached library is
/// loaded only after its bytes match the SHA-256 recorded beside it (<see cref="ModuleCacheEntry"/>): a truncated,
/// emptied or bit-flipped <c>module.so</c> is rebuilt, never handed to dlopen.
/// </summary>
internal sealed partial class EmulationCompiler
{
    /// <summary>
    /// g++ flags: the header's requirements (C++17; a shared object exporting only the thunks, so two modules' kernels
    /// of one name never bind to each other) and -O2. -fno-math-errno only lets sqrtf and friends inline (CUDA's math
    /// functions do not set errno either); -fstack-clash-protection makes a kernel frame larger than a fiber's stack
    /// touch the guard page (a crash) instead of writing over the neighbouring stack.
    /// </summary>
    private static readonly string[] Flags =
        ["-std=c++17", "-O2", "-shared", "-fPIC", "-fvisibility=hidden", "-fno-math-errno", "-fstack-clash-protection"];

    private const string HeaderFileName = "cuda_emulation.h";
    private const string ThunksFileName = "thunks.cpp";
    private const string LibraryFileName = "module.so";
    private static readonly TimeSpan CompileTimeout = TimeSpan.FromMinutes(5);

    private static readonly ConcurrentDictionary<string, Lazy<EmulationCompiler>> Probed = new(StringComparer.Ordinal);
    private static readonly Lazy<string> Header = new(ReadHeader);

    private EmulationCompiler(string path, string identity, string version)
    {
        ExecutablePath = path;
        Identity = identity;
        Version = version;
    }

    /// <summary>Where the compiler was found.</summary>
    public string ExecutablePath { get; }

    /// <summary>The first line of <c>--version</c>: part of the cache key.</summary>
    public string Identity { get; }

    /// <summary><c>12.2.0</c>.</summary>
    public string Version { get; }

    public string DisplayName => $"{Path.GetFileName(ExecutablePath)} {Version}";

    /// <summary>
    /// <paramref name="requested"/>, else <c>$CXX</c>, else <c>g++</c>, looked up on PATH and asked for its version
    /// (once per process). Throws <see cref="CudaUnavailableException"/> when it is not there.
    /// </summary>
    public static EmulationCompiler Find(string? requested)
    {
        string? fromEnvironment = Environment.GetEnvironmentVariable("CXX");
        string name = !string.IsNullOrWhiteSpace(requested) ? requested.Trim()
            : !string.IsNullOrWhiteSpace(fromEnvironment) ? fromEnvironment.Trim()
            : "g++";
        string? path = Resolve(name);
        if (path is null)
        {
            string what = requested is null && name == fromEnvironment?.Trim() ? $"$CXX ({name})" : name;
            throw new CudaUnavailableException($"CUDA emulation needs a C++ compiler: {what} was not found on PATH (apt-get install g++)");
        }
        return Probed.GetOrAdd(path, p => new Lazy<EmulationCompiler>(() => Probe(p))).Value;
    }

    /// <summary>The cache root: <c>$MODELDSL_CACHE_DIR/emulated</c>, else <c>$XDG_CACHE_HOME/modeldsl/emulated</c>, else <c>~/.cache/modeldsl/emulated</c>.</summary>
    public static string CacheDirectory
    {
        get
        {
            string? root = Environment.GetEnvironmentVariable("MODELDSL_CACHE_DIR");
            if (!string.IsNullOrEmpty(root)) return Path.Combine(root, "emulated");
            string? xdg = Environment.GetEnvironmentVariable("XDG_CACHE_HOME");
            if (!string.IsNullOrEmpty(xdg) && Path.IsPathRooted(xdg)) return Path.Combine(xdg, "modeldsl", "emulated");  // the XDG spec ignores relative paths
            string home = Environment.GetFolderPath(Environment.SpecialFolder.UserProfile);
            if (string.IsNullOrEmpty(home)) home = Path.GetTempPath();
            return Path.Combine(home, ".cache", "modeldsl", "emulated");
        }
    }

    /// <summary>
    /// The shared library of <paramref name="cudaSource"/> with a thunk per kernel in <paramref name="kernels"/>:
    /// from the cache, or compiled now. Throws <see cref="CudaException"/> with the compiler's output when it fails.
    /// </summary>
    public string Build(string moduleName, string cudaSource, IReadOnlyList<KernelDeclaration> kernels)
    {
        string sourceFileName = SafeFileName(moduleName) + ".cu";
        string thunks = KernelDeclarations.Thunks(moduleName, sourceFileName, kernels);
        string directory = Path.Combine(CacheDirectory, Key(sourceFileName, cudaSource, thunks));
        string library = Path.Combine(directory, LibraryFileName);
        if (ModuleCacheEntry.Verify(library) is null) return library;

        try
        {
            Directory.CreateDirectory(directory);
            WriteAtomically(Path.Combine(directory, HeaderFileName), Header.Value);
            WriteAtomically(Path.Combine(directory, sourceFileName), cudaSource);
            WriteAtomically(Path.Combine(directory, ThunksFileName), thunks);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new CudaException($"CUDA module '{moduleName}': cannot write the emulator's cache folder {directory} (set MODELDSL_CACHE_DIR to a writable folder): {e.Message}", e);
        }

        string temporary = library + ".tmp-" + Guid.NewGuid().ToString("N");
        var (exitCode, output) = Run(ExecutablePath, directory, [.. Flags, "-I", directory, "-o", temporary, ThunksFileName], CompileTimeout,
            $"compiling CUDA module '{moduleName}' for the CPU emulator");
        if (exitCode != 0 || !File.Exists(temporary))
        {
            TryDelete(temporary);
            throw new CudaException(
                $"CUDA module '{moduleName}' does not compile for the CPU emulator ({DisplayName}, {Path.Combine(directory, sourceFileName)}):{Environment.NewLine}{Truncate(output)}");
        }
        try
        {
            ModuleCacheEntry.Publish(temporary, library);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            TryDelete(temporary);
            throw new CudaException($"CUDA module '{moduleName}': cannot write the emulator's cache folder {directory} (set MODELDSL_CACHE_DIR to a writable folder): {e.Message}", e);
        }
        return library;
    }

    /// <summary>
    /// Why the cached library of a module cannot be used (null when it can); <see cref="Build"/> rebuilds in that case.
    /// For tests and diagnostics.
    /// </summary>
    internal static string? CacheProblem(string library) => ModuleCacheEntry.Verify(library);

    private string Key(string sourceFileName, string cudaSource, string thunks)
    {
        var text = new StringBuilder();
        text.Append("modeldsl-emulation 1\n").Append(ExecutablePath).Append('\n').Append(Identity).Append('\n');
        text.Append(string.Join(' ', Flags)).Append('\n').Append(sourceFileName).Append('\n');
        text.Append(Header.Value).Append('\0').Append(cudaSource).Append('\0').Append(thunks);
        byte[] hash = SHA256.HashData(Encoding.UTF8.GetBytes(text.ToString()));
        return Convert.ToHexStringLower(hash, 0, 16);
    }

    private static EmulationCompiler Probe(string path)
    {
        var (exitCode, output) = Run(path, Environment.CurrentDirectory, ["--version"], TimeSpan.FromSeconds(30), $"{path} --version");
        string firstLine = output.Split('\n', 2)[0].Trim();
        if (exitCode != 0 || firstLine.Length == 0)
            throw new CudaUnavailableException($"CUDA emulation needs a C++ compiler: {path} --version failed:{Environment.NewLine}{Truncate(output)}");
        Match version = VersionPattern().Match(firstLine);
        return new EmulationCompiler(path, firstLine, version.Success ? version.Value : firstLine);
    }

    // "g++ (Debian 12.2.0-14+deb12u1) 12.2.0" → 12.2.0; "clang version 14.0.6" → 14.0.6
    [GeneratedRegex(@"\d+\.\d+(?:\.\d+)?")]
    private static partial Regex VersionPattern();

    private static string? Resolve(string name)
    {
        if (name.Contains('/')) return File.Exists(name) ? Path.GetFullPath(name) : null;
        foreach (string directory in (Environment.GetEnvironmentVariable("PATH") ?? "").Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries))
        {
            string candidate = Path.Combine(directory, name);
            if (File.Exists(candidate)) return candidate;
        }
        return null;
    }

    /// <summary>Runs <paramref name="executable"/> with stdout and stderr captured together; kills it (and what it started) after <paramref name="timeout"/>.</summary>
    private static (int ExitCode, string Output) Run(string executable, string workingDirectory, string[] arguments, TimeSpan timeout, string what)
    {
        var start = new ProcessStartInfo(executable)
        {
            WorkingDirectory = workingDirectory,
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (string argument in arguments) start.ArgumentList.Add(argument);
        start.Environment["LC_ALL"] = "C";  // English messages without typographic quotes

        var output = new StringBuilder();
        using var process = new Process { StartInfo = start };
        process.OutputDataReceived += (_, e) => { if (e.Data is not null) { lock (output) { output.AppendLine(e.Data); } } };
        process.ErrorDataReceived += (_, e) => { if (e.Data is not null) { lock (output) { output.AppendLine(e.Data); } } };
        try
        {
            process.Start();
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            throw new CudaUnavailableException($"CUDA emulation needs a C++ compiler: {executable} could not be started ({e.Message})", e);
        }
        process.StandardInput.Close();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        if (!process.WaitForExit(timeout))
        {
            process.Kill(entireProcessTree: true);
            process.WaitForExit();
            throw new CudaException($"{what}: {Path.GetFileName(executable)} did not finish within {timeout.TotalSeconds:0} s");
        }
        process.WaitForExit();
        lock (output) return (process.ExitCode, output.ToString());
    }

    private static string ReadHeader()
    {
        const string resource = "ModelDsl.Cuda.Emulation.cuda_emulation.h";
        using Stream? stream = typeof(EmulationCompiler).Assembly.GetManifestResourceStream(resource);
        if (stream is null) throw new InvalidOperationException($"the embedded resource {resource} is missing from {typeof(EmulationCompiler).Assembly.GetName().Name}");
        using var reader = new StreamReader(stream, Encoding.UTF8);
        return reader.ReadToEnd();
    }

    private static void WriteAtomically(string path, string text)
    {
        if (File.Exists(path) && File.ReadAllText(path) == text) return;
        string temporary = path + ".tmp-" + Guid.NewGuid().ToString("N");
        File.WriteAllText(temporary, text, new UTF8Encoding(encoderShouldEmitUTF8Identifier: false));
        File.Move(temporary, path, overwrite: true);
    }

    private static string SafeFileName(string moduleName)
    {
        var name = new StringBuilder();
        foreach (char c in moduleName)
        {
            name.Append(char.IsAsciiLetterOrDigit(c) || c is '_' or '-' or '.' ? c : '_');
            if (name.Length == 64) break;
        }
        return name.Length == 0 || name[0] == '.' ? "module" + name : name.ToString();
    }

    private static string Truncate(string output) =>
        output.Length <= 20000 ? output.TrimEnd() : output[..20000] + $"{Environment.NewLine}... ({output.Length - 20000} more characters)";

    private static void TryDelete(string path)
    {
        try { File.Delete(path); }
        catch (IOException) { }
        catch (UnauthorizedAccessException) { }
    }
}
