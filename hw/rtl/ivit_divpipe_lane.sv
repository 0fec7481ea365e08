// Pipelined unsigned restoring divider, one quotient bit per enabled stage (latency Q_W):
//   q = num // den, for num < den * 2^Q_W. SB_W bits of sideband travel with the operands.
module ivit_divpipe_lane #(
    parameter int NUM_W = 48,
    parameter int DEN_W = 40,
    parameter int Q_W   = 16,
    parameter int SB_W  = 1
) (
    input  logic             clk,
    input  logic             en,
    input  logic [NUM_W-1:0] num,
    input  logic [DEN_W-1:0] den,
    input  logic [SB_W-1:0]  sb_in,
    output logic [Q_W-1:0]   q,
    output logic [SB_W-1:0]  sb_out
);
    localparam int R_W = NUM_W > DEN_W + Q_W ? NUM_W : DEN_W + Q_W;
    logic [R_W-1:0]   rem [Q_W+1];
    logic [DEN_W-1:0] dd  [Q_W+1];
    logic [Q_W-1:0]   qq  [Q_W+1];
    logic [SB_W-1:0]  sb  [Q_W+1];

    assign rem[0] = R_W'(num);
    assign dd[0]  = den;
    assign qq[0]  = '0;
    assign sb[0]  = sb_in;

    for (genvar s = 0; s < Q_W; s++) begin : g_step
        localparam int B = Q_W - 1 - s;
        logic [R_W-1:0] d;
        assign d = R_W'(dd[s]) << B;
        always_ff @(posedge clk) begin
            if (en) begin
                if (rem[s] >= d) begin
                    rem[s+1] <= rem[s] - d;
                    qq[s+1]  <= qq[s] | Q_W'(1 << B);
                end else begin
                    rem[s+1] <= rem[s];
                    qq[s+1]  <= qq[s];
                end
                dd[s+1] <= dd[s];
                sb[s+1] <= sb[s];
            end
        end
    end
    assign q      = qq[Q_W];
    assign sb_out = sb[Q_W];
endmodule
