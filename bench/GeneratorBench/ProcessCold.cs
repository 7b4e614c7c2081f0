using System.Diagnostics;
using System.Globalization;
using System.Runtime;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using ModelDsl;
using ModelDsl.Binding;
using ModelDsl.Diagnostics;
using ModelDsl.Generator.Model;
using ModelDsl.Syntax;
using ModelDsl.Text;

namespace GeneratorBench;

/// <summary>
/// The first run in a fresh process: assembly loading and JIT included. The bench starts itself again
/// (<c>--first-run</c>) once per sample, so the figure is not the warm median. Two kinds of child:
/// <list type="bullet">
/// <item><c>driver</c>: the first generator run (new driver + RunGenerators), then a second one in the same process;</item>
/// <item><c>stages</c>: the generator's own code first (parse, bind, spec, description), then the first driver run,
/// to split the cold figure between the front end and Roslyn's driver.</item>
/// </list>
/// Each with the SDK's ReadyToRun Roslyn (<c>-sdk</c>, see <see cref="SdkRoslyn"/>) or the referenced NuGet one.
/// In both, the C# compilation and the .model text are made before the clock starts: that is the compiler's work.
/// </summary>
internal static class ProcessCold
{
    public static int Processes { get; set; } = 5;

    /// <summary>The row the summary line takes as "cold": the first run with the compiler a build really uses.</summary>
    public const string HeadlineStage = "process-cold: first generator run, SDK Roslyn (R2R)";

    public static IEnumerable<Row> Run(string name, string path)
    {
        // With the SDK's precompiled Roslyn, as csc runs: only the generator's own code (and its dependencies) is JIT-compiled.
        bool sdk = SdkRoslyn.FindBincore() is not null;
        if (sdk)
        {
            var first = Samples("driver-sdk", path);
            yield return new Row(name, HeadlineStage, Stats.Of(first.Select(s => s["first"]).ToList()),
                $"fresh process, {Processes} processes; " + Jit(first, "first"));
            yield return new Row(name, "process-cold: second run, same process", Stats.Of(first.Select(s => s["second"]).ToList()),
                "new driver, code already JIT-compiled (tier 0); " + Jit(first, "second"));
        }

        // With the Microsoft.CodeAnalysis NuGet package this project references (IL only): Roslyn's driver is JIT-compiled too.
        var nuget = Samples("driver", path);
        yield return new Row(name, "process-cold: first generator run, NuGet Roslyn (IL)", Stats.Of(nuget.Select(s => s["first"]).ToList()),
            "as above, Roslyn JIT-compiled too; " + Jit(nuget, "first"));

        // Where the first run's time goes: the generator's own stages first, then the rest of a driver run.
        var stages = Samples(sdk ? "stages-sdk" : "stages", path);
        foreach (string stage in new[] { "parse", "bind", "spec", "description", "driver" })
        {
            string label = stage switch
            {
                "parse" => "process-cold split: first parse",
                "bind" => "process-cold split: first bind + check",
                "spec" => "process-cold split: first SpecBuilder.Build (spec)",
                "description" => "process-cold split: first description emission",
                _ => "process-cold split: then first generator run",
            };
            string note = stage == "parse" ? "loads ModelDsl.Dsl and Sprache, builds the grammar; " : "";
            if (stage == "driver") note = "after the four above: Roslyn's driver, AddSource, parsing the generated file; ";
            yield return new Row(name, label, Stats.Of(stages.Select(s => s[stage]).ToList()), note + Jit(stages, stage));
        }
    }

    /// <summary>The JIT's share of a stage, medians over the processes: "JIT 41 ms, 1,234 methods".</summary>
    private static string Jit(List<Dictionary<string, double>> samples, string stage) =>
        $"JIT {Stats.Ms(Stats.Of(samples.Select(s => s[stage + ".jit"]).ToList()).Median)} ms, " +
        $"{Stats.Of(samples.Select(s => s[stage + ".methods"]).ToList()).Median:N0} methods";

    private static List<Dictionary<string, double>> Samples(string kind, string path)
    {
        var samples = new List<Dictionary<string, double>>();
        for (int i = 0; i < Processes; i++)
        {
            var start = new ProcessStartInfo { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
            string host = Environment.ProcessPath!;
            start.FileName = host;
            if (Path.GetFileNameWithoutExtension(host) == "dotnet") start.ArgumentList.Add(typeof(ProcessCold).Assembly.Location);
            foreach (string arg in new[] { "--first-run", kind, path }) start.ArgumentList.Add(arg);

            using Process process = Process.Start(start)!;
            string output = process.StandardOutput.ReadToEnd();
            string error = process.StandardError.ReadToEnd();
            process.WaitForExit();
            string? line = output.Split('\n').FirstOrDefault(l => l.StartsWith("FIRST_RUN ", StringComparison.Ordinal));
            if (process.ExitCode != 0 || line is null) throw new InvalidOperationException($"--first-run {kind} {path} failed ({process.ExitCode}):\n{output}{error}");
            samples.Add(line["FIRST_RUN ".Length..].Split(' ', StringSplitOptions.RemoveEmptyEntries)
                .Select(pair => pair.Split('='))
                .ToDictionary(pair => pair[0], pair => double.Parse(pair[1], CultureInfo.InvariantCulture)));
        }

        return samples;
    }

    /// <summary>The child: prints one line <c>FIRST_RUN name=ms ...</c>. A kind ending in <c>-sdk</c> runs with the SDK's Roslyn.</summary>
    public static int Child(string kind, string path)
    {
        if (kind.EndsWith("-sdk", StringComparison.Ordinal))
        {
            return SdkRoslyn.RunChild(SdkRoslyn.FindBincore()!, kind[..^"-sdk".Length], path);
        }

        CSharpCompilation compilation = BenchInputs.CreateCompilation();
        var file = new ModelText(path, File.ReadAllText(path));
        var times = new List<(string Name, double Value)>();

        // Wall time of one call, and the JIT's share: compilation time and methods compiled meanwhile (all threads).
        void Time(string name, Action action)
        {
            TimeSpan jit = JitInfo.GetCompilationTime();
            long methods = JitInfo.GetCompiledMethodCount();
            long start = Stopwatch.GetTimestamp();
            action();
            times.Add((name, Stopwatch.GetElapsedTime(start).TotalMilliseconds));
            times.Add((name + ".jit", (JitInfo.GetCompilationTime() - jit).TotalMilliseconds));
            times.Add((name + ".methods", JitInfo.GetCompiledMethodCount() - methods));
        }

        if (kind == "stages")
        {
            var source = new SourceText(path, file.Text);
            ModelFileSyntax? syntax = null;
            ModelFileSpec? spec = null;
            Time("parse", () => syntax = ModelParser.Parse(source, new DiagnosticBag()));
            Time("bind", () => Binder.Bind(syntax!, source, new DiagnosticBag()));
            Time("spec", () => spec = GeneratorInternals.ParseToSpec(file, CancellationToken.None));
            Time("description", () => GeneratorInternals.EmitDescription(spec!.Models[0], BenchInputs.RootNamespace));
            Time("driver", () => BenchInputs.CreateDriver(file).RunGenerators(compilation));
        }
        else
        {
            Time("first", () => BenchInputs.CreateDriver(file).RunGenerators(compilation));
            Time("second", () => BenchInputs.CreateDriver(file).RunGenerators(compilation));
        }

        Console.WriteLine("ROSLYN " + typeof(Microsoft.CodeAnalysis.Compilation).Assembly.Location);
        Console.WriteLine("FIRST_RUN " + string.Join(" ", times.Select(t => t.Name + "=" + t.Value.ToString("R", CultureInfo.InvariantCulture))));
        return 0;
    }
}
