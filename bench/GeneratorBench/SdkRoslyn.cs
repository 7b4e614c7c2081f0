using System.Reflection;
using System.Runtime.InteropServices;
using System.Runtime.Loader;

namespace GeneratorBench;

/// <summary>
/// Runs a process-cold child against the compiler a build really uses: the SDK's <c>Roslyn/bincore</c>
/// assemblies, which are ReadyToRun (precompiled), unlike the IL-only Microsoft.CodeAnalysis NuGet package
/// this project references. The bench assembly, the generator, ModelDsl.Dsl and Sprache are loaded again into a
/// context that resolves Microsoft.CodeAnalysis* from the SDK, so only the generator's own code is JIT-compiled,
/// as in csc.
/// </summary>
internal sealed class SdkRoslyn : AssemblyLoadContext
{
    private static readonly string[] Reloaded = ["GeneratorBench", "ModelDsl.Generator", "ModelDsl.Dsl", "Sprache"];

    private readonly string _bincore;
    private readonly string _appDirectory = AppContext.BaseDirectory;

    private SdkRoslyn(string bincore) : base("sdk-roslyn") => _bincore = bincore;

    /// <summary>The newest installed SDK's Roslyn/bincore, or null when there is none next to this runtime.</summary>
    public static string? FindBincore()
    {
        // .../shared/Microsoft.NETCore.App/10.0.x/ -> the dotnet root.
        DirectoryInfo? root = new DirectoryInfo(RuntimeEnvironment.GetRuntimeDirectory()).Parent?.Parent?.Parent;
        if (root is null || !Directory.Exists(Path.Combine(root.FullName, "sdk"))) return null;
        return Directory.EnumerateDirectories(Path.Combine(root.FullName, "sdk"))
            .Select(dir => (Dir: dir, Version: Version.TryParse(Path.GetFileName(dir).Split('-')[0], out Version? v) ? v : null))
            .Where(sdk => sdk.Version is not null && File.Exists(Path.Combine(sdk.Dir, "Roslyn", "bincore", "Microsoft.CodeAnalysis.dll")))
            .OrderByDescending(sdk => sdk.Version)
            .Select(sdk => Path.Combine(sdk.Dir, "Roslyn", "bincore"))
            .FirstOrDefault();
    }

    /// <summary>Calls <see cref="ProcessCold.Child"/> inside the SDK-Roslyn context.</summary>
    public static int RunChild(string bincore, string kind, string path)
    {
        var context = new SdkRoslyn(bincore);
        Assembly bench = context.LoadFromAssemblyName(typeof(SdkRoslyn).Assembly.GetName());
        MethodInfo child = bench.GetType(typeof(ProcessCold).FullName!, throwOnError: true)!
            .GetMethod(nameof(ProcessCold.Child), BindingFlags.Public | BindingFlags.Static)!;
        return (int)child.Invoke(null, [kind, path])!;
    }

    protected override Assembly? Load(AssemblyName name)
    {
        string file = name.Name + ".dll";
        if (name.Name!.StartsWith("Microsoft.CodeAnalysis", StringComparison.Ordinal) && File.Exists(Path.Combine(_bincore, file)))
        {
            return LoadFromAssemblyPath(Path.Combine(_bincore, file));
        }

        return Reloaded.Contains(name.Name) ? LoadFromAssemblyPath(Path.Combine(_appDirectory, file)) : null;
    }
}
