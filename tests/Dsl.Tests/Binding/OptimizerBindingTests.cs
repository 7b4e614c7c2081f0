using System.Linq;
using ModelDsl.Dsl.Tests.Support;
using ModelDsl.IR;
using static ModelDsl.Dsl.Tests.Binding.NameDiagnosticTests;

namespace ModelDsl.Dsl.Tests.Binding
{
    /// <summary>The optimizer statement: each optimizer's defaults resolved (PyTorch's), and its argument diagnostics.</summary>
    public class OptimizerBindingTests
    {
        private static ModelGraph Check(string optimizer)
        {
            string text = Model("    logits = x -> dense(classes)").Replace("optimizer adam(lr=1e-3)", "optimizer " + optimizer);
            var result = Compilation.Compile("m.model", text);
            Assert.True(result.Diagnostics.Count == 0, string.Join("\n", result.Diagnostics.Select(d => d.Format(result.Text))));
            return Assert.Single(result.Models);
        }

        [Fact]
        public void Rmsprop_defaults_are_torch_optim_RMSprop_s()
        {
            var optimizer = Check("rmsprop()").Optimizer!;
            Assert.Equal(OptimizerKind.Rmsprop, optimizer.Kind);
            Assert.Equal(new[] { "lr", "alpha", "eps", "weight_decay", "momentum", "centered" }, optimizer.Hyperparameters.Select(h => h.Key));
            Assert.Equal(new[] { 1e-2, 0.99, 1e-8, 0, 0, 0 }, optimizer.Hyperparameters.Select(h => h.Value));
            var settings = Assert.IsType<Ops.RmspropSettings>(optimizer.Settings);
            Assert.Equal(1, settings.StateCount);
        }

        [Fact]
        public void Rmsprop_arguments_by_name_and_position()
        {
            var settings = Assert.IsType<Ops.RmspropSettings>(Check("rmsprop(0.001, 0.9, eps=1e-6, momentum=0.5)").Optimizer!.Settings);
            Assert.Equal(new Ops.RmspropSettings(0.001, 0.9, 1e-6, 0, 0.5, false), settings);
            Assert.Equal(2, settings.StateCount);
            Assert.Equal(2, Assert.IsType<Ops.RmspropSettings>(Check("rmsprop(centered=true)").Optimizer!.Settings).StateCount);
        }

        [Fact]
        public void Rmsprop_alpha_outside_0_to_1_is_MDL0108()
        {
            var d = AnnotatedText.AssertDiagnostics(Model("    logits = x -> dense(classes)").Replace("optimizer adam(lr=1e-3)", "optimizer rmsprop(alpha=⟦1.5⟧)"), "MDL0108");
            Assert.Contains("alpha", d[0].Message);
        }

        [Fact]
        public void Rmsprop_centered_with_momentum_is_MDL0313_at_centered()
        {
            var d = AnnotatedText.AssertDiagnostics(Model("    logits = x -> dense(classes)").Replace("optimizer adam(lr=1e-3)", "optimizer rmsprop(momentum=0.9, centered=⟦true⟧)"), "MDL0313");
            Assert.Contains("rmsprop centered=true with momentum: ModelDsl keeps at most two state buffers per parameter", d[0].Message);
        }

        [Fact]
        public void A_misspelt_rmsprop_is_suggested()
        {
            var d = AnnotatedText.AssertDiagnostics(Model("    logits = x -> dense(classes)").Replace("optimizer adam", "optimizer ⟦rmsprob⟧"), "MDL0206");
            Assert.Contains("'rmsprob' is not an optimizer; did you mean 'rmsprop'? (optimizers: sgd, adam, adamw, rmsprop)", d[0].Message);
        }
    }
}
