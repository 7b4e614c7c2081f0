using System.IO;

namespace ModelDsl.Cli;

internal static class Usage
{
    public static void Print(TextWriter writer)
    {
        writer.WriteLine("usage: modeldsl <command> [arguments]");
        writer.WriteLine();
        writer.WriteLine("commands:");
        writer.WriteLine("  check <files or folders...>    parse and check .model files; prints diagnostics as");
        writer.WriteLine("                                 file(line,col): severity ID: message; exit 1 on any error");
        writer.WriteLine("  summary <file> [--bind B=32] [--device cuda]");
        writer.WriteLine("                                 each layer with its output shape and parameter count, and totals;");
        writer.WriteLine("                                 --bind sizes the symbolic dimensions and adds FLOPs per step and");
        writer.WriteLine("                                 activation memory; --device cuda adds the GPU session's memory plan");
        writer.WriteLine("                                 (bytes per buffer group and the peak of a training step)");
        writer.WriteLine("  emit <file> --out <folder> [--namespace N]");
        writer.WriteLine("                                 writes the generated C# (what a build compiles) for review");
        writer.WriteLine("  export-onnx <file> --weights <checkpoint> --out <file.onnx> [--model Name]");
        writer.WriteLine("                                 the inference graph as ONNX (opset 20) with a checkpoint's weights");
        writer.WriteLine("  import-onnx <model.onnx> --out <file.safetensors>");
        writer.WriteLine("                                 an ONNX model's float32 weights as safetensors with Hugging Face names;");
        writer.WriteLine("                                 Linear weights (anonymous MatMul inputs, named after their bias) are");
        writer.WriteLine("                                 transposed from ONNX's [in, out] to PyTorch's [out, in]");
        writer.WriteLine();
        writer.WriteLine("options: -h, --help    --version");
        writer.WriteLine("docs: docs/language.md (the language), docs/diagnostics.md (every diagnostic ID),");
        writer.WriteLine("      docs/pretrained.md (import-onnx)");
    }
}
