using System.Collections.Generic;
using System.IO;
using System.Linq;
using ModelDsl.Syntax;
using static ModelDsl.Dsl.Tests.Syntax.SyntaxTestHelpers;

namespace ModelDsl.Dsl.Tests.Syntax
{
    public sealed class ExampleFileTests
    {
        public static IEnumerable<object[]> ExampleFiles()
        {
            string? dir = Directory.GetCurrentDirectory();
            while (dir != null && !Directory.Exists(Path.Combine(dir, "examples"))) dir = Path.GetDirectoryName(dir);
            Assert.NotNull(dir);
            return Directory.GetFiles(Path.Combine(dir!, "examples"), "*.model", SearchOption.AllDirectories)
                .OrderBy(f => f, System.StringComparer.Ordinal)
                .Select(f => new object[] { f });
        }

        [Theory]
        [MemberData(nameof(ExampleFiles))]
        public void Example_parses_without_diagnostics(string path)
        {
            var (file, diagnostics, text) = ParseFile(File.ReadAllText(path));
            Assert.True(diagnostics.Count == 0, string.Join("\n", diagnostics.Select(d => d.Format(text))));
            var model = Assert.Single(file.Declarations.OfType<ModelSyntax>());
            Assert.DoesNotContain(model.Body, s => s is ErrorStatementSyntax);
            Assert.Contains(model.Body, s => s is OutputSyntax);
            Assert.Contains(model.Body, s => s is LossSyntax);
            Assert.Contains(model.Body, s => s is OptimizerSyntax);
        }

        [Fact]
        public void There_are_examples() => Assert.True(ExampleFiles().Count() >= 5);

        [Fact]
        public void Char_gpt_tree_has_the_expected_shape()
        {
            var path = ExampleFiles().Select(f => (string)f[0]).Single(f => f.EndsWith("char_gpt.model"));
            var (file, _, text) = ParseFile(File.ReadAllText(path));
            var block = Assert.IsType<BlockSyntax>(file.Declarations[1]);
            Assert.Equal("TransformerBlock", block.Name.Text);
            var model = Assert.IsType<ModelSyntax>(file.Declarations[2]);
            var h = model.Body.OfType<BindingSyntax>().Single(b => b.Name.Text == "h");
            Assert.Equal("chain(pos -> dropout(dropout_p) -> repeat(layers, TransformerBlock(d, heads)) -> layer_norm)", Show(h.Value));
            var optimizer = model.Body.OfType<OptimizerSyntax>().Single();
            Assert.Equal("adamw(lr=1e-3, betas=(0.9, 0.95), weight_decay=0.1)", text.ToString(optimizer.Call.Span));
        }
    }
}
