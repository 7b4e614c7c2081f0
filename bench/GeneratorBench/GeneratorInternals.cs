using System.Reflection;
using Microsoft.CodeAnalysis;
using ModelDsl.Generator;
using ModelDsl.Generator.Model;

namespace GeneratorBench;

/// <summary>
/// The generator's own stages, which are internal (<c>ModelGenerator.SpecBuilder.Build</c>: front and back end + copy into the
/// equatable <see cref="ModelFileSpec"/> + training code; <c>ModelGenerator.Emitter.EmitSource</c>: the description
/// class). Reached by reflection so the bench times exactly the code a build runs, without changing the generator.
/// </summary>
internal static class GeneratorInternals
{
    private const BindingFlags Static = BindingFlags.Static | BindingFlags.Public | BindingFlags.NonPublic;

    public static readonly Func<AdditionalText, CancellationToken, ModelFileSpec> ParseToSpec =
        Nested("SpecBuilder").GetMethod("Build", Static, [typeof(AdditionalText), typeof(CancellationToken)])!
            .CreateDelegate<Func<AdditionalText, CancellationToken, ModelFileSpec>>();

    public static readonly Func<ModelSpec, string, string> EmitDescription =
        Nested("Emitter").GetMethod("EmitSource", Static, [typeof(ModelSpec), typeof(string)])!
            .CreateDelegate<Func<ModelSpec, string, string>>();

    public static readonly Func<ModelSpec, string, string?> TrainingSource =
        Nested("Emitter").GetMethod("TrainingSource", Static, [typeof(ModelSpec), typeof(string)])!
            .CreateDelegate<Func<ModelSpec, string, string?>>();

    private static Type Nested(string name) =>
        typeof(ModelGenerator).GetNestedType(name, BindingFlags.NonPublic)
        ?? throw new InvalidOperationException($"ModelGenerator.{name} not found: the generator's internals changed; update bench/GeneratorBench.");
}
