using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;

namespace ModelDsl.Generator.Tests.Support;

/// <summary>Finds files relative to the repository root (the directory holding ModelDsl.sln).</summary>
internal static class RepoPaths
{
    private static readonly Lazy<string> s_root = new(FindRoot);

    public static string Root => s_root.Value;

    public static string Combine(params string[] parts) => Path.Combine([Root, .. parts]);

    /// <summary>Every example model, ordinal by path: examples/**/*.model.</summary>
    public static IReadOnlyList<string> ExampleModels() =>
        Directory.EnumerateFiles(Combine("examples"), "*.model", SearchOption.AllDirectories)
            .OrderBy(path => path, StringComparer.Ordinal)
            .ToList();

    private static string FindRoot()
    {
        for (DirectoryInfo? directory = new(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
        {
            if (File.Exists(Path.Combine(directory.FullName, "ModelDsl.sln")))
            {
                return directory.FullName;
            }
        }

        throw new InvalidOperationException("ModelDsl.sln not found above " + AppContext.BaseDirectory);
    }
}
