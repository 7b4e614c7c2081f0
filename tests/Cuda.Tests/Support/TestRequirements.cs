using System;
using System.IO;
using ModelDsl.Cuda;

namespace ModelDsl.Cuda.Tests.Support;

/// <summary>
/// Why a test that needs NVRTC or g++ cannot run here (null when it can). Under CI (<c>CI=true</c>) nothing is skipped:
/// the test runs and fails with the reason, because .ci/run installs both and a skipped test would hide a broken CI image.
/// </summary>
internal static class TestRequirements
{
    public static bool IsCi => string.Equals(Environment.GetEnvironmentVariable("CI"), "true", StringComparison.OrdinalIgnoreCase);

    public static string? NvrtcSkipReason { get; } = SkipReason(NvrtcCompiler.IsAvailable(out string reason), reason, IsCi);

    public static string? GxxSkipReason { get; } = SkipReason(FindOnPath("g++") is not null, "g++ not found on PATH (apt-get install g++)", IsCi);

    internal static string? SkipReason(bool available, string reason, bool isCi) => available || isCi ? null : reason;

    public static string? FindOnPath(string program)
    {
        foreach (string directory in (Environment.GetEnvironmentVariable("PATH") ?? "").Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries))
        {
            string candidate = Path.Combine(directory, program);
            if (File.Exists(candidate)) return candidate;
        }
        return null;
    }
}
