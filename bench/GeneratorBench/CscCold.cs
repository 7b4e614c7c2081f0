using System.Diagnostics;
using System.Globalization;
using System.Text.RegularExpressions;

namespace GeneratorBench;

/// <summary>
/// The cross-check with a real build (<c>--csc N</c>): a throw-away project in the temp folder that references the
/// generator as an analyzer, compiled N times by a fresh csc process each (<c>UseSharedCompilation=false</c>, as
/// on CI), with <c>ReportAnalyzer=true</c> so csc itself reports the time it spent in ModelGenerator. That is the
/// process-cold figure with everything real: the SDK's compiler, analyzer loading, the other generators beside it.
/// Runs <c>dotnet build</c>, so run the bench under <c>flock /tmp/modeldsl.lock</c>.
/// </summary>
internal static partial class CscCold
{
    public static IEnumerable<Row> Run(string repoRoot, IReadOnlyList<string> models, int builds)
    {
        foreach (string model in models)
        {
            string name = Path.GetFileNameWithoutExtension(model);
            string project = CreateProject(repoRoot, model);
            try
            {
                Build(project, "restore and first build", "-p:BuildProjectReferences=true");
                var generator = new List<double>();
                var all = new List<double>();
                for (int i = 0; i < builds; i++)
                {
                    File.SetLastWriteTimeUtc(Path.Combine(project, "Use.cs"), DateTime.UtcNow);   // so CoreCompile runs again
                    string log = Build(project, "build", "--no-restore", "-p:BuildProjectReferences=false");
                    generator.Add(Seconds(ModelGeneratorLine(), log, "ModelGenerator") * 1000);
                    all.Add(Seconds(TotalGeneratorsLine(), log, "total generator time") * 1000);
                }

                yield return new Row(name, "csc process-cold: ModelGenerator (csc /reportanalyzer)", Stats.Of(generator),
                    $"{builds} builds, fresh csc each; all generators of the build together: {Stats.Ms(Stats.Of(all).Median)} ms");
            }
            finally
            {
                Directory.Delete(project, recursive: true);
            }
        }
    }

    private static string CreateProject(string repoRoot, string model)
    {
        string directory = Path.Combine(Path.GetTempPath(), "modeldsl-csc-cold-" + Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(directory);
        File.Copy(model, Path.Combine(directory, Path.GetFileName(model)));
        string generator = Path.Combine(repoRoot, "Generator");
        File.WriteAllText(Path.Combine(directory, "CscCold.csproj"), $"""
            <Project Sdk="Microsoft.NET.Sdk">
              <Import Project="{Path.Combine(generator, "build", "ModelDsl.Generator.props")}" />
              <PropertyGroup>
                <TargetFramework>net10.0</TargetFramework>
                <RootNamespace>CscCold</RootNamespace>
                <Nullable>enable</Nullable>
                <ReportAnalyzer>true</ReportAnalyzer>
                <UseSharedCompilation>false</UseSharedCompilation>
              </PropertyGroup>
              <ItemGroup>
                <ProjectReference Include="{Path.Combine(generator, "Generator.csproj")}" OutputItemType="Analyzer" ReferenceOutputAssembly="false" />
                <ProjectReference Include="{Path.Combine(repoRoot, "Runtime", "Runtime.csproj")}" />
              </ItemGroup>
            </Project>
            """);
        File.WriteAllText(Path.Combine(directory, "Use.cs"), "namespace CscCold { internal static class Use { } }\n");
        return directory;
    }

    private static string Build(string project, string what, params string[] arguments)
    {
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false, WorkingDirectory = project };
        foreach (string argument in new[] { "build", "-c", "Release", "-v:d", "-nologo" }.Concat(arguments)) start.ArgumentList.Add(argument);
        using Process process = Process.Start(start)!;
        Task<string> error = process.StandardError.ReadToEndAsync();
        string output = process.StandardOutput.ReadToEnd();
        process.WaitForExit();
        if (process.ExitCode != 0) throw new InvalidOperationException($"dotnet build ({what}) in {project} failed:\n{output[^Math.Min(output.Length, 4000)..]}{error.Result}");
        return output;
    }

    private static double Seconds(Regex line, string log, string what)
    {
        Match match = line.Match(log);
        if (!match.Success) throw new InvalidOperationException($"csc did not report the {what} (is ReportAnalyzer honoured?)");
        return double.Parse(match.Groups[1].Value, CultureInfo.InvariantCulture);
    }

    // "   0.555   32      ModelDsl.Generator.ModelGenerator" in csc's /reportanalyzer table.
    [GeneratedRegex(@"^\s*([0-9]+\.[0-9]+)\s+\S+\s+ModelDsl\.Generator\.ModelGenerator\s*$", RegexOptions.Multiline)]
    private static partial Regex ModelGeneratorLine();

    [GeneratedRegex(@"Total generator execution time:\s*([0-9]+\.[0-9]+) seconds")]
    private static partial Regex TotalGeneratorsLine();
}
