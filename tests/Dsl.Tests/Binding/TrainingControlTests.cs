using System.Linq;
using ModelDsl.Dsl.Tests.Support;
using ModelDsl.IR;
using static ModelDsl.Dsl.Tests.Binding.NameDiagnosticTests;

namespace ModelDsl.Dsl.Tests.Binding
{
    /// <summary>The training controls next to the optimizer (clip_grad_norm, ...): how they parse and bind, and their diagnostics.</summary>
    public class TrainingControlTests
    {
        /// <summary>The test model with <paramref name="controls"/> after its optimizer line.</summary>
        internal static string WithControls(string controls, string body = "    h = x -> dense(hidden) -> relu\n    logits = h -> dense(classes)") =>
            Model(body).Replace("optimizer adam(lr=1e-3)", "optimizer adam(lr=1e-3)\n" + controls);

        internal static ModelGraph Check(string text)
        {
            var result = Compilation.Compile("m.model", text);
            Assert.True(result.Diagnostics.Count == 0, string.Join("\n", result.Diagnostics.Select(d => d.Format(result.Text))));
            return Assert.Single(result.Models);
        }

        [Fact]
        public void Without_controls_there_are_none()
        {
            var controls = Check(WithControls("")).Controls;
            Assert.Same(TrainingControls.None, controls);
            Assert.Null(controls.Clip);
        }

        [Fact]
        public void Clip_grad_norm_binds_its_max_norm_by_position_or_name()
        {
            Assert.Equal(1.0, Check(WithControls("    clip_grad_norm(1.0)")).Controls.Clip!.MaxNorm);
            Assert.Equal(0.25, Check(WithControls("    clip_grad_norm(max_norm=0.25)")).Controls.Clip!.MaxNorm);
            Assert.Equal(5.0, Check(WithControls("    clip_grad_norm(5)")).Controls.Clip!.MaxNorm);
        }

        [Fact]
        public void The_control_words_are_not_reserved()
        {
            // A binding may be named like a control: its name is followed by '=', a control's word by '('.
            var graph = Check(WithControls("    clip_grad_norm(1.0)", "    clip_grad_norm = x -> dense(hidden)\n    freeze = clip_grad_norm -> relu\n    logits = freeze -> dense(classes)"));
            Assert.NotNull(graph.Controls.Clip);
        }

        [Fact]
        public void Clip_grad_norm_needs_a_non_negative_max_norm()
        {
            var d = AnnotatedText.AssertDiagnostics(WithControls("    clip_grad_norm(⟦-1.0⟧)"), "MDL0108");
            Assert.Contains("max_norm", d[0].Message);
            AnnotatedText.AssertDiagnostics(WithControls("    ⟦clip_grad_norm()⟧"), "MDL0104");
            AnnotatedText.AssertDiagnostics(WithControls("    clip_grad_norm(1.0, ⟦norm⟧=2)"), "MDL0103");
        }

        [Fact]
        public void Clip_grad_norm_given_twice_is_MDL0204()
        {
            var d = AnnotatedText.AssertDiagnostics(WithControls("    clip_grad_norm(1.0)\n    ⟦clip_grad_norm(2.0)⟧"), "MDL0204");
            Assert.Contains("only one clip_grad_norm is allowed; the first is on line", d[0].Message);
        }

        [Fact]
        public void A_control_in_a_block_is_MDL0210()
        {
            var d = AnnotatedText.AssertDiagnostics("block Bad(x) {\n    ⟦clip_grad_norm(1.0)⟧\n    return x\n}\n" + Model("    logits = x -> Bad -> dense(classes)"), "MDL0210");
            Assert.Contains("'clip_grad_norm' is not allowed in a block (training controls belong to the model, next to its optimizer)", d[0].Message);
        }

        [Fact]
        public void MDL0215_a_control_without_an_optimizer()
        {
            string text = WithControls("    ⟦clip_grad_norm⟧(1.0)").Replace("    optimizer adam(lr=1e-3)\n", "").Replace("model M {", "model ⟦M⟧ {");
            var d = AnnotatedText.AssertDiagnostics(text, "MDL0203", "MDL0215");
            Assert.Contains("clip_grad_norm: the model has no optimizer, so nothing is trained; declare one or remove this line", d[1].Message);
        }

        [Fact]
        public void A_syntax_error_inside_a_control_lands_on_the_bad_token()
        {
            AnnotatedText.AssertDiagnostics(WithControls("    clip_grad_norm(1.0 ⟦2⟧)"), "MDL0001");
        }

        [Fact]
        public void Schedules_bind_their_kind_warmup_steps_and_floor()
        {
            var cosine = Check(WithControls("    schedule cosine(warmup=100, steps=1000, floor=0.1)")).Controls.Schedule!;
            Assert.Equal(ScheduleKind.Cosine, cosine.Kind);
            Assert.Equal(100, cosine.Warmup);
            Assert.Equal(1000L, cosine.TotalSteps);
            Assert.Equal(0.1, cosine.Floor);
            Assert.Equal("cosine(warmup=100, steps=1000, floor=0.1)", cosine.Describe());
            var linear = Check(WithControls("    schedule linear(warmup=10)")).Controls.Schedule!;
            Assert.Equal((ScheduleKind.Linear, 10L, (long?)null, 0.0), (linear.Kind, linear.Warmup, linear.TotalSteps, linear.Floor));
            Assert.Equal("constant(warmup=5)", Check(WithControls("    schedule constant(warmup=5)")).Controls.Schedule!.Describe());
        }

        [Fact]
        public void MDL0120_an_unknown_schedule_suggests_the_closest()
        {
            var d = AnnotatedText.AssertDiagnostics(WithControls("    schedule ⟦cosin⟧(warmup=10)"), "MDL0120");
            Assert.Contains("'cosin' is not a schedule; did you mean 'cosine'? (schedules: constant, linear, cosine)", d[0].Message);
        }

        [Fact]
        public void MDL0318_steps_not_beyond_the_warmup()
        {
            var d = AnnotatedText.AssertDiagnostics(WithControls("    schedule linear(warmup=100, steps=⟦100⟧)"), "MDL0318");
            Assert.Contains("linear: steps=100 must be larger than warmup=100", d[0].Message);
        }

        [Fact]
        public void Schedule_arguments_are_checked()
        {
            AnnotatedText.AssertDiagnostics(WithControls("    schedule cosine(floor=⟦1.5⟧)"), "MDL0108");
            AnnotatedText.AssertDiagnostics(WithControls("    schedule constant(warmup=5, ⟦floor⟧=0.1)"), "MDL0103");
            AnnotatedText.AssertDiagnostics(WithControls("    schedule linear()\n    ⟦schedule cosine()⟧"), "MDL0204");
        }

        [Fact]
        public void Freeze_names_parameters_by_full_name_layer_path_or_pattern()
        {
            // The test model's layers are h.0 (dense), h.1 (relu) and logits (dense).
            Assert.Equal(new[] { "h.0.bias", "h.0.weight" }, Check(WithControls("    freeze h.0")).Controls.Frozen.OrderBy(n => n, System.StringComparer.Ordinal));
            Assert.Equal(new[] { "h.0.bias", "logits.bias" }, Check(WithControls("    freeze *.bias")).Controls.Frozen.OrderBy(n => n, System.StringComparer.Ordinal));
            Assert.Equal(new[] { "h.0.weight", "logits.bias" }, Check(WithControls("    freeze h.0.weight, logits.bias")).Controls.Frozen.OrderBy(n => n, System.StringComparer.Ordinal));
            // A binding may still be named freeze.
            Check(WithControls("", "    freeze = x -> dense(hidden)\n    logits = freeze -> dense(classes)"));
        }

        [Fact]
        public void Freeze_of_a_path_that_names_no_parameter_is_MDL0122_at_the_pattern()
        {
            var d = AnnotatedText.AssertDiagnostics(WithControls("    freeze h.0, ⟦h.9⟧"), "MDL0122");
            Assert.Contains("freeze pattern 'h.9' matches no parameter of model 'M'", d[0].Message);
        }

        [Fact]
        public void MDL0215_freezing_every_parameter()
        {
            var d = AnnotatedText.AssertDiagnostics(WithControls("    ⟦freeze⟧ h.0, logits"), "MDL0215");
            Assert.Contains("freeze: every parameter of model 'M' is frozen, so a step would change nothing", d[0].Message);
            AnnotatedText.AssertDiagnostics("block Bad(x) {\n    ⟦freeze x⟧\n    return x\n}\n" + Model("    logits = x -> Bad -> dense(classes)"), "MDL0210");
        }
    }
}
