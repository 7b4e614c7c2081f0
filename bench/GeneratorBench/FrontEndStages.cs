using ModelDsl;
using ModelDsl.Autodiff;
using ModelDsl.Binding;
using ModelDsl.Diagnostics;
using ModelDsl.Emit.CSharp;
using ModelDsl.Generator.Model;
using ModelDsl.IR;
using ModelDsl.Plan;
using ModelDsl.Syntax;
using ModelDsl.Text;

namespace GeneratorBench;

/// <summary>One line of the results table: a stage of one model, its timing (null when it did not run) and a note.</summary>
internal sealed record Row(string Model, string Stage, Stats? Time, string Note = "");

/// <summary>
/// Each front-end and emission stage on its own, in the order the generator runs them
/// (<c>ModelDsl.Compilation.Compile</c>, then <c>ModelGenerator.SpecBuilder</c>, then <c>ModelGenerator.Emitter</c>).
/// </summary>
internal static class FrontEndStages
{
    public static IEnumerable<Row> Run(string name, ModelText file)
    {
        var source = new SourceText(file.Path, file.Text);
        CompilationResult checkedFile = Compilation.Compile(source);
        if (checkedFile.Diagnostics.Count > 0)
        {
            throw new InvalidOperationException($"{file.Path} does not check cleanly:{Environment.NewLine}" +
                string.Join(Environment.NewLine, checkedFile.Diagnostics.Select(d => d.ToString())));
        }

        ModelFileSyntax syntax = checkedFile.Syntax!;
        int ops = checkedFile.Models.Sum(model => model.Nodes.Count);
        long parameters = checkedFile.Models.Sum(model => model.Parameters.Sum(parameter => parameter.Count));

        yield return new Row(name, "text checks + line map", Measure.Time(() => TextChecks.Check(new SourceText(file.Path, file.Text), new DiagnosticBag())),
            $"{file.Text.Length:N0} chars, {source.LineCount} lines");
        yield return new Row(name, "parse (Sprache grammar)", Measure.Time(() => ModelParser.Parse(source, new DiagnosticBag())));
        yield return new Row(name, "bind + check (names, blocks, shapes)", Measure.Time(() => Binder.Bind(syntax, source, new DiagnosticBag())),
            $"{ops:N0} ops after expansion, {parameters:N0} parameters");
        yield return new Row(name, "= Compilation.Compile", Measure.Time(() => Compilation.Compile(source)), "the three stages above together");

        foreach (ModelGraph model in checkedFile.Models)
        {
            TrainingPlan? plan = PlanBuilder.TryBuild(model, out OpNode? unsupported);
            if (plan is null)
            {
                string why = unsupported is null
                    ? "an input shape cannot be bound from a tensor yet"
                    : $"'{unsupported.Kind.ToSource()}' (line {source.GetLinePosition(unsupported.Span.Start).Line + 1}) has no training code yet";
                yield return new Row(name, "plan (PlanBuilder)", null, $"not built: {why}");
                yield return new Row(name, "emit training C# (CpuModelEmitter)", null, "not emitted (no plan)");
                continue;
            }

            yield return new Row(name, "plan (PlanBuilder)", Measure.Time(() => PlanBuilder.TryBuild(model, out _)),
                $"{plan.Forward.Count} forward + {plan.Backward.Count} backward kernels");
            string training = CpuModelEmitter.Emit(plan, source, BenchInputs.RootNamespace);
            yield return new Row(name, "emit training C# (CpuModelEmitter)", Measure.Time(() => CpuModelEmitter.Emit(plan, source, BenchInputs.RootNamespace)),
                $"{training.Length:N0} chars");
        }

        ModelFileSpec spec = GeneratorInternals.ParseToSpec(file, CancellationToken.None);
        yield return new Row(name, "generator SpecBuilder.Build (compile + spec + training code)", Measure.Time(() => GeneratorInternals.ParseToSpec(file, CancellationToken.None)),
            "what the cached ModelFileSpecs step runs");
        foreach (ModelSpec model in spec.Models)
        {
            string description = GeneratorInternals.EmitDescription(model, BenchInputs.RootNamespace);
            yield return new Row(name, "generator Emitter: description class", Measure.Time(() => GeneratorInternals.EmitDescription(model, BenchInputs.RootNamespace)),
                $"{model.Name}.g.cs, {description.Length:N0} chars" + (model.TrainingSource is null ? "; no .Training.g.cs (see plan)" : $"; + {model.Name}.Training.g.cs"));
        }
    }
}
