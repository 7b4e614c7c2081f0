using System.Text.RegularExpressions;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;

namespace GeneratorBench;

/// <summary>
/// The real incremental generator (ModelGenerator through CSharpGeneratorDriver, steps tracked) on a compilation
/// with the .model file as an additional text: a run with no cached state, then the three incremental cases.
/// </summary>
internal static class GeneratorRuns
{
    /// <summary>Set when an unrelated C# edit made any step do work: the bench then exits with code 1.</summary>
    public static bool CachingBroken { get; private set; }

    public static IEnumerable<Row> Run(string name, ModelText file)
    {
        CSharpCompilation compilation = BenchInputs.CreateCompilation();

        // Cold: a new driver, nothing cached (what the compiler does for the first build of a project).
        GeneratorDriver cold = BenchInputs.CreateDriver(file).RunGenerators(compilation);
        GeneratorRunResult coldResult = Single(cold);
        yield return new Row(name, "generator run, nothing cached (new driver)", Measure.Time(() => BenchInputs.CreateDriver(file).RunGenerators(compilation)),
            Describe(coldResult));

        // No change at all: the same compilation again.
        yield return new Row(name, "incremental: nothing changed", Measure.Time(() => cold.RunGenerators(compilation)),
            Reasons(Single(cold.RunGenerators(compilation))));

        // An unrelated C# edit: every step must be Cached or Unchanged (no .model work at all).
        var state = new DriverState(cold);
        var reasons = new List<string>();
        Stats csharpEdit = Measure.Time(
            edit =>
            {
                state.Check(reasons);
                return BenchInputs.EditUnrelated(compilation, edit + 1);
            },
            edited => state.Driver = state.Driver.RunGenerators(edited));
        state.Check(reasons);
        string inputs = Single(state.Driver).TrackedSteps.ContainsKey(CompilationInput) ? " (the Compilation input itself is Modified: that is the edit)" : "";
        yield return new Row(name, "incremental: C# file edited", csharpEdit, CSharpEditVerdict(reasons, state.Runs) + inputs);

        // A .model edit that changes nothing the generator keeps (a comment): re-parsed, then Unchanged, no emission.
        yield return ModelEdit(name, "incremental: .model comment edited", cold, compilation, file,
            (text, edit) => text + $"\n// edited {edit}\n");

        // A .model edit that changes the model (the learning rate): re-parsed and re-emitted.
        var lr = new Regex(@"lr\s*=\s*[0-9.eE+-]+");
        if (lr.IsMatch(file.Text))
        {
            yield return ModelEdit(name, "incremental: .model number edited (lr)", cold, compilation, file,
                (text, edit) => lr.Replace(text, edit % 2 == 0 ? "lr=1e-3" : "lr=2e-3", 1));
        }
    }

    private static Row ModelEdit(string name, string stage, GeneratorDriver start, CSharpCompilation compilation, ModelText file, Func<string, int, string> edit)
    {
        var state = new DriverState(start);
        ModelText current = file;
        Stats time = Measure.Time(
            n =>
            {
                var next = new ModelText(file.Path, edit(file.Text, n));
                state.Driver = state.Driver.ReplaceAdditionalText(current, next);
                current = next;
                return compilation;
            },
            c => state.Driver = state.Driver.RunGenerators(c));
        return new Row(name, stage, time, Reasons(Single(state.Driver)));
    }

    private static GeneratorRunResult Single(GeneratorDriver driver)
    {
        GeneratorRunResult result = driver.GetRunResult().Results.Single();
        if (result.Exception is not null) throw new InvalidOperationException("the generator threw", result.Exception);
        Diagnostic? error = result.Diagnostics.FirstOrDefault(d => d.Severity == DiagnosticSeverity.Error);
        if (error is not null) throw new InvalidOperationException("the generator reported " + error);
        return result;
    }

    private static string Describe(GeneratorRunResult result) =>
        string.Join(", ", result.GeneratedSources.Select(source => $"{source.HintName} {source.SourceText.Length:N0} chars")) +
        $"; {result.Diagnostics.Length} diagnostics";

    /// <summary>Every tracked step (named and output steps) with the reasons of its outputs, e.g. <c>ModelFileSpecs:Unchanged</c>.</summary>
    private static IEnumerable<(string Step, IncrementalStepRunReason Reason)> Outputs(GeneratorRunResult result) =>
        result.TrackedSteps.Concat(result.TrackedOutputSteps)
            .SelectMany(pair => pair.Value.SelectMany(run => run.Outputs).Select(output => (pair.Key, output.Reason)));

    private static string Reasons(GeneratorRunResult result) =>
        string.Join(" ", Outputs(result)
            .GroupBy(o => o.Step, StringComparer.Ordinal)
            .OrderBy(g => g.Key, StringComparer.Ordinal)
            .Select(g => g.Key + ":" + string.Join("/", g.Select(o => o.Reason).Distinct())));

    /// <summary>
    /// Roslyn's own input node for <c>context.CompilationProvider</c>: a C# edit is a new compilation, so it is
    /// Modified by definition. What counts is that every generator step fed by it stays Cached or Unchanged.
    /// </summary>
    private const string CompilationInput = "Compilation";

    private static string CSharpEditVerdict(List<string> worked, int runs)
    {
        if (worked.Count == 0) return $"every generator step and output Cached/Unchanged in all {runs} runs (no work)";
        CachingBroken = true;
        return $"WORK DONE in {worked.Count} step outputs: " + string.Join(", ", worked.Distinct().Take(5));
    }

    /// <summary>The driver carried from run to run; <see cref="Check"/> records any step of the last run that did work.</summary>
    private sealed class DriverState(GeneratorDriver driver)
    {
        private GeneratorDriver? _checked = driver;

        public GeneratorDriver Driver { get; set; } = driver;
        public int Runs { get; private set; }

        public void Check(List<string> worked)
        {
            if (ReferenceEquals(_checked, Driver)) return;
            _checked = Driver;
            Runs++;
            worked.AddRange(Outputs(Single(Driver))
                .Where(o => o.Step != CompilationInput)
                .Where(o => o.Reason is not (IncrementalStepRunReason.Cached or IncrementalStepRunReason.Unchanged))
                .Select(o => $"{o.Step}:{o.Reason}"));
        }
    }
}
