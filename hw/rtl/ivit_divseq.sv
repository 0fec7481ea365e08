// Sequential unsigned restoring divider, one quotient bit per cycle:
//   q = num // den, rem = num % den, for num < den * 2^qbits (qbits = 1..Q_MAX).
// start is taken while !busy; done pulses for one cycle when q and rem are valid.
module ivit_divseq #(
    parameter int NUM_W = 64,
    parameter int DEN_W = 64,
    parameter int Q_MAX = 48,
    parameter int QB_W  = 6
) (
    input  logic             clk,
    input  logic             rst,
    input  logic             start,
    input  logic [NUM_W-1:0] num,
    input  logic [DEN_W-1:0] den,
    input  logic [QB_W-1:0]  qbits,
    output logic             busy,
    output logic             done,
    output logic [Q_MAX-1:0] q,
    output logic [NUM_W-1:0] rem
);
    localparam int D_W = DEN_W + Q_MAX;
    logic [D_W-1:0]  dsh;
    logic [QB_W-1:0] cnt;

    always_ff @(posedge clk) begin
        if (rst) begin
            busy <= 1'b0;
            done <= 1'b0;
        end else begin
            done <= 1'b0;
            if (!busy && start) begin
                rem  <= num;
                dsh  <= D_W'(den) << (qbits - QB_W'(1));
                cnt  <= qbits;
                q    <= '0;
                busy <= 1'b1;
            end else if (busy) begin
                if (D_W'(rem) >= dsh) begin
                    rem <= NUM_W'(D_W'(rem) - dsh);
                    q   <= {q[Q_MAX-2:0], 1'b1};
                end else begin
                    q   <= {q[Q_MAX-2:0], 1'b0};
                end
                dsh <= dsh >> 1;
                cnt <= cnt - QB_W'(1);
                if (cnt == QB_W'(1)) begin
                    busy <= 1'b0;
                    done <= 1'b1;
                end
            end
        end
    end
endmodule
