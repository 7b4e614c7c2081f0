using System;
using System.Linq;
using System.Reflection;

namespace ModelDsl.Generator.Tests.Training;

/// <summary>
/// MDL0214 stays true to the generated code: every member a generated class declares under a fixed name (its API, its
/// private members, its nested types) is a name the checker refuses for a model, since a member cannot share its class's
/// name. Names that come from the .model file (parameter properties) are the emitter's to rename and are left out.
/// </summary>
public sealed class ModelNameRuleTests
{
    [Theory]
    [InlineData("examples/FashionMnist/fashion_mlp.model", "FashionMlp")]
    [InlineData("examples/CharGpt/char_gpt.model", "CharGpt")]
    public void Every_fixed_member_of_a_generated_class_is_refused_as_a_model_name(string path, string model)
    {
        var compiled = GeneratedModel.CompileExample(path, model);
        var parameterProperties = compiled.Parameters.Select(p => compiled.Type.GetProperties().First(q => ReferenceEquals(q.GetValue(compiled.Instance), p)).Name).ToHashSet();
        var names = compiled.Type.GetMembers(BindingFlags.DeclaredOnly | BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.Instance | BindingFlags.Static)
            .Where(m => m is not ConstructorInfo && !m.Name.Contains('<') && !m.Name.Contains('.') && !m.Name.StartsWith("get_", StringComparison.Ordinal) && !m.Name.StartsWith("set_", StringComparison.Ordinal))
            .Select(m => m.Name).Where(n => !parameterProperties.Contains(n)).Distinct().OrderBy(n => n, StringComparer.Ordinal).ToList();
        Assert.Contains("Forward", names);
        Assert.Contains("Workspace", names);

        var accepted = names.Where(name =>
        {
            var result = Compilation.Compile("test.model", $"model {name} {{\n    input x: f32[B, 4]\n    label y: i32[B]\n    logits = x -> dense(3)\n    output logits\n    loss cross_entropy(logits, y)\n    optimizer adam()\n}}\n");
            return !result.Diagnostics.Any(d => d.Descriptor.Id == "MDL0214");
        }).ToList();
        Assert.True(accepted.Count == 0, "the checker accepts model names the generated class uses for its own members: " + string.Join(", ", accepted));
    }
}
