using System.Linq;
using ModelDsl.Dsl.Tests.Support;
using static ModelDsl.Dsl.Tests.Binding.NameDiagnosticTests;

namespace ModelDsl.Dsl.Tests.Binding
{
    /// <summary>Several <c>output</c> statements: every one is an output, in source order, and the first stays <c>ModelGraph.Output</c>.</summary>
    public class OutputBindingTests
    {
        [Fact]
        public void Each_output_statement_adds_an_output_in_source_order()
        {
            string text = Model("    pooled = x -> dense(16) -> tanh\n    logits = pooled -> dense(classes)\n    output pooled");
            var result = Compilation.Compile("m.model", text);
            Assert.True(result.Diagnostics.Count == 0, string.Join("\n", result.Diagnostics.Select(d => d.Format(result.Text))));
            var model = Assert.Single(result.Models);
            Assert.Equal(new[] { "pooled", "logits" }, model.Outputs.Select(o => o.Name));
            Assert.Same(model.Outputs[0], model.Output);
            Assert.Equal("[B, 16]", model.Outputs[0].Shape.ToExpression());
        }

        [Fact]
        public void One_output_is_the_only_output()
        {
            var result = Compilation.Compile("m.model", Model("    logits = x -> dense(classes)"));
            var model = Assert.Single(result.Models);
            Assert.Equal("logits", Assert.Single(model.Outputs).Name);
        }
    }
}
