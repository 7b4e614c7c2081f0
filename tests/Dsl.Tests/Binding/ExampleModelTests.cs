using System.IO;
using System.Linq;
using ModelDsl.IR;

namespace ModelDsl.Dsl.Tests.Binding
{
    /// <summary>The five example models check cleanly, with parameter counts computed by hand.</summary>
    public class ExampleModelTests
    {
        internal static string RepoFile(string relative)
        {
            var dir = new DirectoryInfo(System.AppContext.BaseDirectory);
            while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "ModelDsl.sln"))) dir = dir.Parent;
            return Path.Combine(dir!.FullName, relative);
        }

        internal static ModelGraph CheckExample(string relative)
        {
            string path = RepoFile(relative);
            var result = Compilation.Compile(path, File.ReadAllText(path));
            Assert.True(result.Diagnostics.Count == 0, string.Join("\n", result.Diagnostics.Select(d => d.Format(result.Text))));
            return Assert.Single(result.Models);
        }

        [Theory]
        // 10·64+64 + 64·64+64 + 64·1+1
        [InlineData("examples/BinaryClassifier/binary_classifier.model", 4929)]
        // 784·256+256 + 256·256+256 + 256·10+10
        [InlineData("examples/FashionMnist/fashion_mlp.model", 269322)]
        // conv 32·1·3·3+32 + conv 64·32·3·3+64 + dense 3136·128+128 + dense 128·10+10
        [InlineData("examples/FashionMnist/fashion_cnn.model", 421642)]
        // tok 96·128 = 12288, pos 64·128 = 8192, 4 blocks × 198272, final layer_norm 256; tied head adds none.
        // block: 2 layer_norms 2·256, attention 3·128·128+384 + 128·128+128 = 66048, dense 128·512+512 = 66048, dense 512·128+128 = 65664
        [InlineData("examples/CharGpt/char_gpt.model", 813824)]
        // embedding 8192·64 = 524288; lstm 4·128·(64+128) + 8·128 = 98304 + 1024 = 99328; dense 128·4+4 = 516
        [InlineData("examples/TextLstm/fortune_lstm.model", 624132)]
        public void Example_checks_with_exact_parameter_count(string file, long expected)
        {
            var graph = CheckExample(file);
            Assert.Equal(expected, graph.Parameters.Sum(p => p.Count));
            Assert.Equal(graph.Parameters.Count, graph.Parameters.Select(p => p.Name).Distinct().Count());
        }

        [Fact]
        public void CharGpt_names_follow_pytorch_paths_and_ties_the_head()
        {
            var graph = CheckExample("examples/CharGpt/char_gpt.model");
            var names = graph.Parameters.Select(p => p.Name).ToList();
            Assert.Equal("tok.weight", names[0]);
            Assert.Equal("pos.weight", names[1]);
            Assert.Contains("h.1.0.a.0.weight", names);
            Assert.Contains("h.1.2.a.1.in_proj_weight", names);
            Assert.Contains("h.1.3.a.1.out_proj.bias", names);
            Assert.Contains("h.1.3.m.3.weight", names);
            Assert.Contains("h.2.weight", names);
            Assert.DoesNotContain(names, n => n.StartsWith("logits", System.StringComparison.Ordinal));

            var head = graph.Nodes.Last(n => n.Kind == OpKind.Dense);
            Assert.Equal("logits", head.LayerPath);
            Assert.Same(graph.Parameters[0], Assert.Single(head.Parameters));
            Assert.Equal("[B, T, 96]", graph.Output.Shape.ToExpression());
            Assert.Equal(new[] { "B", "T" }, graph.SymbolicDimensions);
            Assert.Equal("logits", graph.Output.Name);
            Assert.Equal(LossKind.CrossEntropy, graph.Loss!.Kind);
        }

        [Fact]
        public void Graph_values_are_unique_and_topologically_ordered()
        {
            var graph = CheckExample("examples/CharGpt/char_gpt.model");
            var defined = graph.Inputs.Concat(graph.Labels).Select(v => v.Id).ToHashSet();
            foreach (var node in graph.Nodes)
            {
                Assert.All(node.Inputs, i => Assert.Contains(i.Id, defined));
                Assert.True(defined.Add(node.Output.Id), "duplicate value id " + node.Output.Id);
            }
        }

        [Fact]
        public void Optimizer_hyperparameters_are_resolved()
        {
            var gpt = CheckExample("examples/CharGpt/char_gpt.model").Optimizer!;
            Assert.Equal(OptimizerKind.AdamW, gpt.Kind);
            Assert.Equal(new[] { "lr", "beta1", "beta2", "eps", "weight_decay" }, gpt.Hyperparameters.Select(h => h.Key));
            Assert.Equal(new[] { 1e-3, 0.9, 0.95, 1e-8, 0.1 }, gpt.Hyperparameters.Select(h => h.Value));

            var mlp = CheckExample("examples/FashionMnist/fashion_mlp.model").Optimizer!;
            Assert.Equal(new[] { 1e-3, 0.9, 0.999, 1e-8, 1e-4 }, mlp.Hyperparameters.Select(h => h.Value));
        }
    }
}
